-- Requirements (F5), identification items (F6), stage transitions and stage outputs (F8).

CREATE TABLE requirements (
    id               INTEGER PRIMARY KEY,
    version          INTEGER NOT NULL DEFAULT 1,
    code             TEXT NOT NULL UNIQUE,
    customer_id      INTEGER NOT NULL REFERENCES customers(id),
    project_id       INTEGER,
    title            TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    channel          TEXT NOT NULL,
    category         TEXT NOT NULL,
    sub_category     TEXT,
    nature           TEXT NOT NULL,
    kind             TEXT NOT NULL,
    urgency          TEXT NOT NULL,
    source_person    TEXT NOT NULL DEFAULT '',
    collected_on     TEXT NOT NULL,
    stage            TEXT NOT NULL,
    stage_entered_at TEXT NOT NULL,
    -- F7: a duplicate stays, marked as merged into the requirement that carries on.
    merged_into      INTEGER REFERENCES requirements(id),
    created_by       INTEGER REFERENCES users(id),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
-- The list's filters: by customer and stage (the hot path), by stage (and urgency), by project;
-- each ends in id so the newest-first page reads in index order.
CREATE INDEX requirements_customer_stage ON requirements(customer_id, stage, id);
CREATE INDEX requirements_stage_urgency ON requirements(stage, urgency, id);
CREATE INDEX requirements_stage ON requirements(stage, id);
CREATE INDEX requirements_project ON requirements(project_id, id);

CREATE TABLE requirement_items (
    id                   INTEGER PRIMARY KEY,
    requirement_id       INTEGER NOT NULL REFERENCES requirements(id),
    version              INTEGER NOT NULL DEFAULT 1,
    description          TEXT NOT NULL,
    category             TEXT NOT NULL,
    sub_category         TEXT,
    acceptance_criterion TEXT NOT NULL,
    department_id        INTEGER NOT NULL REFERENCES departments(id)
);
CREATE INDEX requirement_items_requirement ON requirement_items(requirement_id, id);

CREATE TABLE requirement_transitions (
    id             INTEGER PRIMARY KEY,
    requirement_id INTEGER NOT NULL REFERENCES requirements(id),
    from_stage     TEXT NOT NULL,
    to_stage       TEXT NOT NULL,
    move           TEXT NOT NULL,
    reason         TEXT NOT NULL DEFAULT '',
    actor_id       INTEGER,
    actor_name     TEXT NOT NULL,
    at             TEXT NOT NULL
);
CREATE INDEX requirement_transitions_requirement ON requirement_transitions(requirement_id, id);

CREATE TABLE requirement_outputs (
    id             INTEGER PRIMARY KEY,
    requirement_id INTEGER NOT NULL REFERENCES requirements(id),
    stage          TEXT NOT NULL,
    kind           TEXT NOT NULL,
    note           TEXT NOT NULL DEFAULT '',
    actor_name     TEXT NOT NULL,
    at             TEXT NOT NULL,
    superseded     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX requirement_outputs_requirement ON requirement_outputs(requirement_id, stage);

-- 顾客反馈信息一览表 (002§4.2A): inconsistencies between requirements, to be clarified with the customer.
CREATE TABLE feedback_register (
    id             INTEGER PRIMARY KEY,
    requirement_id INTEGER NOT NULL REFERENCES requirements(id),
    other_id       INTEGER NOT NULL REFERENCES requirements(id),
    note           TEXT NOT NULL,
    actor_name     TEXT NOT NULL,
    at             TEXT NOT NULL
);
CREATE INDEX feedback_register_requirement ON feedback_register(requirement_id);
