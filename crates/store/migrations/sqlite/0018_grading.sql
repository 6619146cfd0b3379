-- Grading (F2; 004§1.3, 001§4): evaluation runs (annual determination, semiannual adjustment)
-- with a candidate list and its evidence for the committee; the grade history of each customer;
-- the yearly volumes the three-year rank reads.

CREATE TABLE grading_runs (
    id          INTEGER PRIMARY KEY,
    version     INTEGER NOT NULL DEFAULT 1,
    kind        TEXT NOT NULL,
    year        INTEGER NOT NULL,
    half        INTEGER NOT NULL DEFAULT 0,
    state       TEXT NOT NULL,
    rules       TEXT NOT NULL,
    customers   INTEGER NOT NULL DEFAULT 0,
    changes     INTEGER NOT NULL DEFAULT 0,
    created_by  INTEGER NOT NULL REFERENCES users(id),
    created_at  TEXT NOT NULL,
    decided_by  INTEGER REFERENCES users(id),
    decided_at  TEXT,
    decision    TEXT NOT NULL DEFAULT ''
);
-- One run is drafted at a time (its candidates describe the customers as they are now).
CREATE UNIQUE INDEX grading_runs_one_draft ON grading_runs(state) WHERE state = 'draft';
CREATE INDEX grading_runs_year ON grading_runs(year, id);

CREATE TABLE grading_candidates (
    run_id         INTEGER NOT NULL REFERENCES grading_runs(id),
    customer_id    INTEGER NOT NULL REFERENCES customers(id),
    volume         INTEGER NOT NULL,
    share          REAL NOT NULL,
    rank           INTEGER NOT NULL,
    rank_3y        INTEGER NOT NULL,
    growth         REAL,
    long_term      INTEGER NOT NULL,
    government     INTEGER NOT NULL,
    influential    INTEGER NOT NULL,
    current_grade  TEXT NOT NULL,
    current_tier   TEXT NOT NULL,
    proposed_grade TEXT NOT NULL,
    proposed_tier  TEXT NOT NULL,
    -- The committee's adjustment (NULL: as proposed).
    decided_grade  TEXT,
    decided_tier   TEXT,
    note           TEXT NOT NULL DEFAULT '',
    -- 1 when the outcome differs from the customer's grade or tier now.
    changed        INTEGER NOT NULL,
    PRIMARY KEY (run_id, customer_id)
);
CREATE INDEX grading_candidates_rank ON grading_candidates(run_id, rank, customer_id);
CREATE INDEX grading_candidates_changed ON grading_candidates(run_id, changed, rank, customer_id);

CREATE TABLE grade_history (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    run_id      INTEGER REFERENCES grading_runs(id),
    from_grade  TEXT NOT NULL,
    to_grade    TEXT NOT NULL,
    from_tier   TEXT NOT NULL,
    to_tier     TEXT NOT NULL,
    from_code   TEXT NOT NULL,
    to_code     TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    by_name     TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX grade_history_customer ON grade_history(customer_id, id);

-- A customer's transaction volume of a year as an approved annual run recorded it.
CREATE TABLE customer_volumes (
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    year        INTEGER NOT NULL,
    volume      INTEGER NOT NULL,
    PRIMARY KEY (year, customer_id)
);
