-- KPIs (F23; 003§5.2): a monthly roll-up kept in the transactions that receive, close or merge a
-- requirement, end or breach a response clock, and store survey answers, so the dashboard sums
-- a few hundred rows instead of scanning millions (a test checks it equals a full recount).

-- The requirement's owner for the KPIs: its customer's account manager when it was received
-- (and that person's department), so its reception and its completion count for the same one.
ALTER TABLE requirements ADD COLUMN owner_id INTEGER;
ALTER TABLE requirements ADD COLUMN owner_department_id INTEGER;
UPDATE requirements SET owner_id = (SELECT account_manager_id FROM customers c WHERE c.id = requirements.customer_id);
UPDATE requirements SET owner_department_id = (SELECT department_id FROM users u WHERE u.id = requirements.owner_id);
-- The week's intake, the segmentation's last twelve months (customer and urgency from the index alone).
CREATE INDEX requirements_created ON requirements(created_at, customer_id, urgency);

-- How the clock of the stage a transition left ended: 1 on time, 0 late, NULL from before F23.
ALTER TABLE requirement_transitions ADD COLUMN on_time INTEGER;

-- One row per Shanghai month and person (dim 'person': subject_id = user id, 0 for none, with the
-- department, 0 for none) or customer (dim 'customer': subject_id = customer id, department 0).
CREATE TABLE kpi_monthly (
    month         TEXT NOT NULL,
    dim           TEXT NOT NULL,
    subject_id    INTEGER NOT NULL,
    department_id INTEGER NOT NULL,
    received      INTEGER NOT NULL DEFAULT 0,
    completed     INTEGER NOT NULL DEFAULT 0,
    on_time       INTEGER NOT NULL DEFAULT 0,
    late          INTEGER NOT NULL DEFAULT 0,
    s1            INTEGER NOT NULL DEFAULT 0,
    s2            INTEGER NOT NULL DEFAULT 0,
    s3            INTEGER NOT NULL DEFAULT 0,
    s4            INTEGER NOT NULL DEFAULT 0,
    s5            INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (dim, month, subject_id, department_id)
) WITHOUT ROWID;
CREATE INDEX kpi_monthly_subject ON kpi_monthly(dim, subject_id, month);

INSERT INTO kpi_monthly (month, dim, subject_id, department_id, received, completed)
SELECT strftime('%Y-%m', r.created_at, '+8 hours'), d.dim,
       CASE d.dim WHEN 'person' THEN COALESCE(r.owner_id, 0) ELSE r.customer_id END,
       CASE d.dim WHEN 'person' THEN COALESCE(r.owner_department_id, 0) ELSE 0 END,
       COUNT(*), SUM(CASE WHEN r.stage = 'closed' OR r.merged_into IS NOT NULL THEN 1 ELSE 0 END)
FROM requirements r CROSS JOIN (SELECT 'person' AS dim UNION ALL SELECT 'customer') d
GROUP BY 1, 2, 3, 4;

INSERT INTO kpi_monthly (month, dim, subject_id, department_id, s1, s2, s3, s4, s5)
SELECT strftime('%Y-%m', a.answered_at, '+8 hours'), d.dim,
       CASE d.dim WHEN 'person' THEN COALESCE(c.account_manager_id, 0) ELSE a.customer_id END,
       CASE d.dim WHEN 'person' THEN COALESCE(u.department_id, 0) ELSE 0 END,
       SUM(CASE WHEN a.score = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN a.score = 2 THEN 1 ELSE 0 END),
       SUM(CASE WHEN a.score = 3 THEN 1 ELSE 0 END), SUM(CASE WHEN a.score = 4 THEN 1 ELSE 0 END),
       SUM(CASE WHEN a.score = 5 THEN 1 ELSE 0 END)
FROM survey_answers a JOIN customers c ON c.id = a.customer_id
LEFT JOIN users u ON u.id = c.account_manager_id
CROSS JOIN (SELECT 'person' AS dim UNION ALL SELECT 'customer') d
WHERE true
GROUP BY 1, 2, 3, 4
ON CONFLICT (dim, month, subject_id, department_id) DO UPDATE SET
    s1 = excluded.s1, s2 = excluded.s2, s3 = excluded.s3, s4 = excluded.s4, s5 = excluded.s5;
