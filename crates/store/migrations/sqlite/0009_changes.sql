-- Change control (F14, 002§4.2C, 002§7.2): change requests over identification items with their
-- 5M1E impacts, the departments notified and their confirmations, and the requirement revisions
-- a change produces (each a snapshot, so an old revision stays readable).

CREATE TABLE changes (
    id              INTEGER PRIMARY KEY,
    version         INTEGER NOT NULL DEFAULT 1,
    requirement_id  INTEGER NOT NULL REFERENCES requirements(id),
    contract_id     INTEGER REFERENCES contracts(id),
    origin          TEXT NOT NULL,
    title           TEXT NOT NULL,
    reason          TEXT NOT NULL,
    state           TEXT NOT NULL,
    redetermination TEXT NOT NULL DEFAULT '',
    redetermined_by TEXT,
    redetermined_at TEXT,
    decision_note   TEXT NOT NULL DEFAULT '',
    decided_by      TEXT,
    decided_at      TEXT,
    notified_by     TEXT,
    notified_at     TEXT,
    verification    TEXT NOT NULL DEFAULT '',
    verified_by     TEXT,
    verified_at     TEXT,
    closed_by       TEXT,
    closed_at       TEXT,
    -- The requirement revision the approval produced.
    revision        INTEGER,
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX changes_requirement ON changes(requirement_id, id);
CREATE INDEX changes_contract ON changes(contract_id, state);
CREATE INDEX changes_state ON changes(state, id);

CREATE TABLE change_impacts (
    change_id INTEGER NOT NULL REFERENCES changes(id),
    factor    TEXT NOT NULL,
    note      TEXT NOT NULL,
    PRIMARY KEY (change_id, factor)
);

-- The affected items: their content when the change was raised and as it is to become.
CREATE TABLE change_items (
    change_id            INTEGER NOT NULL REFERENCES changes(id),
    item_id              INTEGER NOT NULL REFERENCES requirement_items(id),
    before_description   TEXT NOT NULL,
    before_criterion     TEXT NOT NULL,
    after_description    TEXT NOT NULL,
    after_criterion      TEXT NOT NULL,
    PRIMARY KEY (change_id, item_id)
);

CREATE TABLE change_notices (
    change_id     INTEGER NOT NULL REFERENCES changes(id),
    department_id INTEGER NOT NULL REFERENCES departments(id),
    notified_at   TEXT NOT NULL,
    confirmed_by  TEXT,
    confirmed_at  TEXT,
    note          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (change_id, department_id)
);
CREATE INDEX change_notices_department ON change_notices(department_id, change_id);

-- A re-review round belongs to its change (no foreign key: rounds are restored before changes).
ALTER TABLE review_rounds ADD COLUMN change_id INTEGER;
CREATE INDEX review_rounds_change ON review_rounds(change_id);

ALTER TABLE requirements ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;

CREATE TABLE requirement_revisions (
    requirement_id INTEGER NOT NULL REFERENCES requirements(id),
    revision       INTEGER NOT NULL,
    change_id      INTEGER REFERENCES changes(id),
    snapshot       TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (requirement_id, revision)
);

-- The orders list filters by status.
CREATE INDEX orders_status ON orders(status, id);
