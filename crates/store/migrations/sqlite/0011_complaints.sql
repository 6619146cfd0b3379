-- Complaints and positive feedback with their CAPA reports (F17, F18; 002§4.3.3, 002§7.1), the
-- people recused from a case (001§2(3)), their files (photos, video, documents), and the
-- satisfaction-survey tasks a closed serious complaint leaves (002§4.5.2).

ALTER TABLE departments ADD COLUMN head_id INTEGER REFERENCES users(id);

CREATE TABLE complaints (
    id                 INTEGER PRIMARY KEY,
    version            INTEGER NOT NULL DEFAULT 1,
    customer_id        INTEGER NOT NULL REFERENCES customers(id),
    kind               TEXT NOT NULL,
    channel            TEXT NOT NULL,
    title              TEXT NOT NULL,
    content            TEXT NOT NULL,
    product            TEXT NOT NULL DEFAULT '',
    order_id           INTEGER REFERENCES orders(id),
    state              TEXT NOT NULL,
    registered_by      TEXT NOT NULL,
    registered_at      TEXT NOT NULL,
    confirm_due        TEXT NOT NULL,
    confirm_note       TEXT NOT NULL DEFAULT '',
    confirmed_by       TEXT,
    confirmed_at       TEXT,
    valid              INTEGER,
    severity           TEXT,
    department_id      INTEGER REFERENCES departments(id),
    fix_due            TEXT,
    customer_agreement TEXT NOT NULL DEFAULT '',
    evidence           TEXT NOT NULL DEFAULT '',
    explanation        TEXT NOT NULL DEFAULT '',
    decided_by         TEXT,
    decided_at         TEXT,
    investigator_id    INTEGER REFERENCES users(id),
    verifier_id        INTEGER REFERENCES users(id),
    correction         TEXT NOT NULL DEFAULT '',
    corrected_by       TEXT,
    corrected_at       TEXT,
    capa               TEXT NOT NULL DEFAULT '{}',
    capa_template      INTEGER NOT NULL DEFAULT 0,
    capa_submitted_at  TEXT,
    verify_note        TEXT NOT NULL DEFAULT '',
    verified_by        TEXT,
    verified_at        TEXT,
    reply_letter       TEXT NOT NULL DEFAULT '',
    reply_evidence     TEXT NOT NULL DEFAULT '',
    replied_by         TEXT,
    replied_at         TEXT,
    closed_at          TEXT
);
CREATE INDEX complaints_customer ON complaints(customer_id, id);
CREATE INDEX complaints_state ON complaints(state, id);
CREATE INDEX complaints_confirm_due ON complaints(state, confirm_due);

CREATE TABLE complaint_recusals (
    complaint_id INTEGER NOT NULL REFERENCES complaints(id),
    user_id      INTEGER NOT NULL REFERENCES users(id),
    reason       TEXT NOT NULL,
    declared_by  TEXT NOT NULL,
    declared_at  TEXT NOT NULL,
    PRIMARY KEY (complaint_id, user_id)
);

CREATE TABLE complaint_files (
    id           INTEGER PRIMARY KEY,
    complaint_id INTEGER NOT NULL REFERENCES complaints(id),
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    storage_key  TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX complaint_files_complaint ON complaint_files(complaint_id, id);

CREATE TABLE survey_tasks (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    complaint_id INTEGER REFERENCES complaints(id),
    assignee_id  INTEGER REFERENCES users(id),
    reason       TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open',
    created_at   TEXT NOT NULL
);
CREATE INDEX survey_tasks_assignee ON survey_tasks(assignee_id, status, id);
