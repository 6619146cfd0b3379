-- Monitoring (F22, F24): response-time clocks on requirements (the current stage's due time on
-- the working calendar, paused while waiting for the customer), the breaches recorded by the
-- background job, the early-warning rules (data, editable) and the warnings they raise.

ALTER TABLE requirements ADD COLUMN sla_due_at TEXT;
ALTER TABLE requirements ADD COLUMN waiting_since TEXT;
ALTER TABLE requirements ADD COLUMN paused_minutes INTEGER NOT NULL DEFAULT 0;
-- The breach pass reads running clocks past due; the back-fill reads clocks not computed yet.
-- A merged duplicate's clock stops with the merge.
CREATE INDEX requirements_sla_due ON requirements(sla_due_at, id)
    WHERE waiting_since IS NULL AND stage <> 'closed' AND merged_into IS NULL;
CREATE INDEX requirements_sla_missing ON requirements(id)
    WHERE sla_due_at IS NULL AND stage <> 'closed' AND merged_into IS NULL;

-- One row per clock that ran out: `clock` names it (a requirement stage entered at an instant,
-- a hand-off, a complaint's confirmation or fix), so each breach is recorded once.
CREATE TABLE sla_breaches (
    id          INTEGER PRIMARY KEY,
    record_type TEXT NOT NULL,
    record_id   INTEGER NOT NULL,
    clock       TEXT NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    -- Who answers for the clock (the requirement's owner, the hand-off's receiver and
    -- department; 0 for none): the KPIs count the breach against them (F23).
    user_id       INTEGER NOT NULL DEFAULT 0,
    department_id INTEGER NOT NULL DEFAULT 0,
    due_at      TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    UNIQUE (record_type, record_id, clock)
);
-- The warning pass groups the overdue pending hand-offs by requirement from this index alone.
DROP INDEX handoffs_pending_due;
CREATE INDEX handoffs_pending_due ON handoffs(due_at, id, requirement_id)
    WHERE status IN ('open', 'acknowledged');
CREATE INDEX sla_breaches_recorded ON sla_breaches(recorded_at, customer_id);
CREATE INDEX sla_breaches_customer ON sla_breaches(customer_id, recorded_at);

CREATE TABLE warning_rules (
    id          INTEGER PRIMARY KEY,
    version     INTEGER NOT NULL DEFAULT 1,
    name        TEXT NOT NULL,
    metric      TEXT NOT NULL,
    yellow      INTEGER NOT NULL,
    orange      INTEGER NOT NULL,
    red         INTEGER NOT NULL,
    window_days INTEGER NOT NULL,
    tiers       TEXT NOT NULL DEFAULT '[]',
    enabled     INTEGER NOT NULL DEFAULT 1,
    updated_by  TEXT NOT NULL DEFAULT 'system',
    updated_at  TEXT NOT NULL DEFAULT ''
);

CREATE TABLE warnings (
    id           INTEGER PRIMARY KEY,
    version      INTEGER NOT NULL DEFAULT 1,
    rule_id      INTEGER NOT NULL REFERENCES warning_rules(id),
    metric       TEXT NOT NULL,
    level        TEXT NOT NULL,
    subject      TEXT NOT NULL,
    subject_id   INTEGER NOT NULL,
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    -- The customer's tier when the warning was raised: the dashboard counts by it (004§3).
    tier         TEXT NOT NULL,
    cause        TEXT NOT NULL,
    value        INTEGER NOT NULL,
    state        TEXT NOT NULL,
    raised_at    TEXT NOT NULL,
    escalated_at TEXT,
    assignee_id  INTEGER REFERENCES users(id),
    assigned_by  TEXT,
    assigned_at  TEXT,
    resolution   TEXT NOT NULL DEFAULT '',
    resolved_by  TEXT,
    resolved_at  TEXT,
    verification TEXT NOT NULL DEFAULT '',
    verified_by  TEXT,
    verified_at  TEXT
);
-- 004§3: one open warning per cause — the pass raises or escalates it, never a second one.
CREATE UNIQUE INDEX warnings_open_cause ON warnings(cause) WHERE state <> 'verified';
CREATE INDEX warnings_rule ON warnings(rule_id, state);
CREATE INDEX warnings_state ON warnings(state, level, id);
CREATE INDEX warnings_tier ON warnings(tier, state, level);
CREATE INDEX warnings_customer ON warnings(customer_id, id);
CREATE INDEX warnings_assignee ON warnings(assignee_id, state);

-- Open warnings (not verified) per tier and level, kept with every raise, escalation and
-- verification: the dashboard reads twelve rows whatever the number of warnings.
CREATE TABLE warning_tally (
    tier  TEXT NOT NULL,
    level TEXT NOT NULL,
    open  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tier, level)
);

INSERT INTO warning_rules (name, metric, yellow, orange, red, window_days, tiers) VALUES
    ('传递超期', 'overdue_handoffs', 1, 3, 7, 0, '[]'),
    ('交付逾期', 'overdue_deliveries', 1, 7, 15, 0, '[]'),
    ('交期风险', 'delivery_risk', 1, 5, 10, 0, '[]'),
    ('投诉频次(一般客户)', 'complaints', 2, 3, 5, 90, '["general","potential"]'),
    ('投诉频次(战略·重点客户)', 'complaints', 1, 2, 3, 90, '["strategic","key"]'),
    ('严重投诉', 'serious_complaints', 1, 2, 3, 180, '[]'),
    ('响应超时', 'sla_breaches', 2, 4, 8, 30, '[]');
