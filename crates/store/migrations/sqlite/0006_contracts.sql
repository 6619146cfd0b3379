-- Contracts and technical agreements (F13) with versions of clauses, and the CBC response table
-- with deviation permits (002§4.2C, 000§5(3)).

CREATE TABLE contracts (
    id              INTEGER PRIMARY KEY,
    version         INTEGER NOT NULL DEFAULT 1,
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    project_id      INTEGER REFERENCES projects(id),
    number          TEXT NOT NULL,
    title           TEXT NOT NULL,
    kind            TEXT NOT NULL,
    signed_on       TEXT NOT NULL DEFAULT '',
    -- The version in force (0 until the first is saved); older versions stay readable.
    current_version INTEGER NOT NULL DEFAULT 0,
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    UNIQUE (customer_id, number)
);
CREATE INDEX contracts_project ON contracts(project_id, id);

CREATE TABLE contract_versions (
    id          INTEGER PRIMARY KEY,
    contract_id INTEGER NOT NULL REFERENCES contracts(id),
    version_no  INTEGER NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (contract_id, version_no)
);

CREATE TABLE contract_clauses (
    id          INTEGER PRIMARY KEY,
    contract_id INTEGER NOT NULL REFERENCES contracts(id),
    version_no  INTEGER NOT NULL,
    number      TEXT NOT NULL,
    text        TEXT NOT NULL,
    UNIQUE (contract_id, version_no, number)
);

-- The CBC response to one clause (one row per clause, changed in place with its version).
CREATE TABLE clause_responses (
    clause_id      INTEGER PRIMARY KEY REFERENCES contract_clauses(id),
    version        INTEGER NOT NULL DEFAULT 1,
    response       TEXT NOT NULL,
    note           TEXT NOT NULL DEFAULT '',
    responsible_id INTEGER REFERENCES users(id),
    updated_by     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX clause_responses_response ON clause_responses(response);

CREATE TABLE deviation_permits (
    id           INTEGER PRIMARY KEY,
    clause_id    INTEGER NOT NULL REFERENCES contract_clauses(id),
    status       TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    decided_on   TEXT,
    evidence     TEXT NOT NULL DEFAULT '',
    decided_by   TEXT,
    decided_at   TEXT
);
CREATE INDEX deviation_permits_clause ON deviation_permits(clause_id, id);
CREATE INDEX deviation_permits_status ON deviation_permits(status, id);
