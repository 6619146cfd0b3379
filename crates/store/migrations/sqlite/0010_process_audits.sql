-- Process audits (F16, 000§6): plans per region or project, the checklist graded item by item,
-- findings, the report, and the excellent practices shared from it.

CREATE TABLE process_audits (
    id          INTEGER PRIMARY KEY,
    version     INTEGER NOT NULL DEFAULT 1,
    title       TEXT NOT NULL,
    scope       TEXT NOT NULL,
    province    TEXT NOT NULL DEFAULT '',
    project_id  INTEGER REFERENCES projects(id),
    planned_on  TEXT NOT NULL,
    auditor_id  INTEGER NOT NULL REFERENCES users(id),
    status      TEXT NOT NULL,
    summary     TEXT NOT NULL DEFAULT '',
    reported_by TEXT,
    reported_at TEXT,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX process_audits_status ON process_audits(status, id);
CREATE INDEX process_audits_project ON process_audits(project_id, id);
CREATE INDEX process_audits_province ON process_audits(province, id);

CREATE TABLE process_audit_items (
    audit_id  INTEGER NOT NULL REFERENCES process_audits(id),
    seq       INTEGER NOT NULL,
    version   INTEGER NOT NULL DEFAULT 0,
    text      TEXT NOT NULL,
    grade     TEXT,
    note      TEXT NOT NULL DEFAULT '',
    finding   TEXT NOT NULL DEFAULT '',
    practice  TEXT NOT NULL DEFAULT '',
    graded_by TEXT,
    graded_at TEXT,
    PRIMARY KEY (audit_id, seq)
);
-- The shared page lists excellent practices, newest first.
CREATE INDEX process_audit_items_grade ON process_audit_items(grade, graded_at);
