-- Satisfaction surveys (F20, F21): questionnaire templates in versions, campaigns, invitations
-- with their single-use public tokens, and one row per scored question (what analysis groups).

CREATE TABLE survey_templates (
    id              INTEGER PRIMARY KEY,
    version         INTEGER NOT NULL DEFAULT 1,
    name            TEXT NOT NULL,
    current_version INTEGER NOT NULL,
    created_at      TEXT NOT NULL
);

CREATE TABLE survey_template_versions (
    template_id INTEGER NOT NULL REFERENCES survey_templates(id),
    version_no  INTEGER NOT NULL,
    definition  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (template_id, version_no)
);

CREATE TABLE survey_campaigns (
    id                 INTEGER PRIMARY KEY,
    version            INTEGER NOT NULL DEFAULT 1,
    kind               TEXT NOT NULL,
    title              TEXT NOT NULL,
    template_id        INTEGER NOT NULL REFERENCES survey_templates(id),
    template_version   INTEGER NOT NULL,
    period_start       TEXT NOT NULL,
    period_end         TEXT NOT NULL,
    status             TEXT NOT NULL,
    account_manager_id INTEGER REFERENCES users(id),
    created_by         TEXT NOT NULL,
    created_at         TEXT NOT NULL
);
CREATE INDEX survey_campaigns_status ON survey_campaigns(status, id);

CREATE TABLE survey_invitations (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES survey_campaigns(id),
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    token       TEXT NOT NULL UNIQUE,
    answered_at TEXT,
    answered_by TEXT,
    comment     TEXT NOT NULL DEFAULT '',
    reminders   INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    UNIQUE (campaign_id, customer_id)
);
CREATE INDEX survey_invitations_customer ON survey_invitations(customer_id, id);

CREATE TABLE survey_answers (
    id            INTEGER PRIMARY KEY,
    invitation_id INTEGER NOT NULL REFERENCES survey_invitations(id),
    campaign_id   INTEGER NOT NULL REFERENCES survey_campaigns(id),
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    question      TEXT NOT NULL,
    aspect        TEXT NOT NULL,
    score         INTEGER NOT NULL,
    comment       TEXT NOT NULL DEFAULT '',
    answered_at   TEXT NOT NULL
);
CREATE INDEX survey_answers_period ON survey_answers(answered_at, aspect, score);
CREATE INDEX survey_answers_campaign ON survey_answers(campaign_id, aspect);
