-- Survey analysis reads a daily roll-up instead of scanning every answer (F21: a half-year of a
-- million answers in milliseconds): one row per Shanghai day, category dimension, category value,
-- aspect and score, kept in the transaction that stores the answers. The category is the
-- customer's at the time of the answer. Rectification actions (publish → rectify → reply →
-- evaluate) for the weaknesses found.

CREATE TABLE survey_daily (
    dim      TEXT NOT NULL,
    day      TEXT NOT NULL,
    category TEXT NOT NULL,
    aspect   TEXT NOT NULL,
    score    INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (dim, day, category, aspect, score)
);

INSERT INTO survey_daily (dim, day, category, aspect, score, n)
SELECT d.dim, date(a.answered_at, '+8 hours'),
       CASE d.dim WHEN 'grade' THEN c.grade WHEN 'tier' THEN c.tier
                  WHEN 'industry' THEN c.industry WHEN 'province' THEN c.province ELSE '' END,
       a.aspect, a.score, COUNT(*)
FROM survey_answers a
JOIN customers c ON c.id = a.customer_id
CROSS JOIN (SELECT '' AS dim UNION ALL SELECT 'grade' UNION ALL SELECT 'tier'
            UNION ALL SELECT 'industry' UNION ALL SELECT 'province') d
GROUP BY 1, 2, 3, 4, 5;

ALTER TABLE survey_invitations ADD COLUMN reminded_at TEXT;
CREATE INDEX survey_invitations_open ON survey_invitations(campaign_id, answered_at);
-- Who answered in a year (coverage) is one index probe per customer.
CREATE INDEX survey_invitations_answered ON survey_invitations(customer_id, answered_at);

-- A campaign's invited and answered counts, kept with the invitations and answers (the response
-- rate of a period then sums a few campaigns instead of counting a million invitations).
ALTER TABLE survey_campaigns ADD COLUMN invited INTEGER NOT NULL DEFAULT 0;
ALTER TABLE survey_campaigns ADD COLUMN answered INTEGER NOT NULL DEFAULT 0;
UPDATE survey_campaigns SET
    invited = (SELECT COUNT(*) FROM survey_invitations i WHERE i.campaign_id = survey_campaigns.id),
    answered = (SELECT COUNT(*) FROM survey_invitations i WHERE i.campaign_id = survey_campaigns.id
                AND i.answered_at IS NOT NULL);

CREATE TABLE survey_actions (
    id          INTEGER PRIMARY KEY,
    version     INTEGER NOT NULL DEFAULT 1,
    title       TEXT NOT NULL,
    aspect      TEXT NOT NULL,
    category_by TEXT NOT NULL DEFAULT '',
    category    TEXT NOT NULL DEFAULT '',
    finding     TEXT NOT NULL,
    owner_id    INTEGER NOT NULL REFERENCES users(id),
    due_on      TEXT NOT NULL,
    status      TEXT NOT NULL,
    rectification TEXT NOT NULL DEFAULT '',
    reply       TEXT NOT NULL DEFAULT '',
    evaluation  TEXT NOT NULL DEFAULT '',
    rounds      INTEGER NOT NULL DEFAULT 1,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX survey_actions_status ON survey_actions(status, due_on);
CREATE INDEX survey_actions_owner ON survey_actions(owner_id, status);
