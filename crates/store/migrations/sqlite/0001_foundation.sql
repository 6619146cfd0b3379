-- Foundation: departments, users, sessions, customers, contacts, audit trail, settings, jobs.
-- Timestamps are UTC text of one fixed width (2026-11-24T08:30:00.000Z): text order = time order.

CREATE TABLE departments (
    id      INTEGER PRIMARY KEY,
    code    TEXT NOT NULL UNIQUE,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL
);

-- 000: the departments of the default work standard.
INSERT INTO departments (code, name_zh, name_en) VALUES
    ('marketing', '营销部', 'Marketing'),
    ('design', '设计部', 'Design'),
    ('process', '工艺部', 'Process engineering'),
    ('procurement', '采购部', 'Procurement'),
    ('production', '生产部', 'Production'),
    ('quality', '质量部', 'Quality'),
    ('delivery', '交付部', 'Delivery'),
    ('after_sales', '售后服务部', 'After-sales service');

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY,
    version              INTEGER NOT NULL DEFAULT 1,
    username             TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    password_hash        TEXT NOT NULL,
    role                 TEXT NOT NULL,
    department_id        INTEGER REFERENCES departments(id),
    customer_id          INTEGER REFERENCES customers(id),
    data_scope           TEXT NOT NULL,
    email                TEXT NOT NULL DEFAULT '',
    active               INTEGER NOT NULL DEFAULT 1,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT NOT NULL
);
CREATE INDEX users_department ON users(department_id);

CREATE TABLE customers (
    id                 INTEGER PRIMARY KEY,
    version            INTEGER NOT NULL DEFAULT 1,
    code               TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    short_name         TEXT NOT NULL DEFAULT '',
    industry           TEXT NOT NULL DEFAULT '',
    application        TEXT NOT NULL DEFAULT '',
    province           TEXT NOT NULL DEFAULT '',
    city               TEXT NOT NULL DEFAULT '',
    address            TEXT NOT NULL DEFAULT '',
    phone              TEXT NOT NULL DEFAULT '',
    company_size       TEXT,
    business_status    TEXT NOT NULL,
    annual_revenue     INTEGER NOT NULL DEFAULT 0,
    grade              TEXT NOT NULL,
    tier               TEXT NOT NULL,
    account_manager_id INTEGER REFERENCES users(id),
    tags               TEXT NOT NULL DEFAULT '[]',
    risk_flags         TEXT NOT NULL DEFAULT '[]',
    remarks            TEXT NOT NULL DEFAULT '',
    credit_rating      TEXT,
    financial_status   TEXT NOT NULL DEFAULT '',
    archived           INTEGER NOT NULL DEFAULT 0,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
-- One index per list filter; the default order is grade then code (A first, F2).
CREATE INDEX customers_grade ON customers(archived, grade, code);
CREATE INDEX customers_tier ON customers(tier);
CREATE INDEX customers_industry ON customers(industry);
CREATE INDEX customers_region ON customers(province, city);
CREATE INDEX customers_manager ON customers(account_manager_id);
CREATE INDEX customers_name ON customers(name);

CREATE TABLE customer_team (
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (customer_id, user_id)
);
CREATE INDEX customer_team_user ON customer_team(user_id);

CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    version     INTEGER NOT NULL DEFAULT 1,
    name        TEXT NOT NULL,
    title       TEXT NOT NULL DEFAULT '',
    phone       TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    wechat      TEXT NOT NULL DEFAULT '',
    is_primary  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX contacts_customer ON contacts(customer_id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    csrf       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);

CREATE TABLE login_failures (
    id       INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    address  TEXT NOT NULL,
    at       TEXT NOT NULL
);
CREATE INDEX login_failures_user ON login_failures(username, at);
CREATE INDEX login_failures_address ON login_failures(address, at);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE code_counters (
    prefix   TEXT PRIMARY KEY,
    next_seq INTEGER NOT NULL
);

-- F28: append-only, each row's hash covers the previous row's hash.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor_id    INTEGER,
    actor_name  TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    action      TEXT NOT NULL,
    before_json TEXT,
    after_json  TEXT,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_entity ON audit_log(entity, entity_id, seq);
CREATE INDEX audit_actor ON audit_log(actor_id, seq);

-- The end of the chain; every audited write locks this row first, which serialises the chain.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Background jobs, claimed by a conditional update so exactly one node runs each.
CREATE TABLE jobs (
    name         TEXT PRIMARY KEY,
    next_run_at  TEXT NOT NULL,
    locked_by    TEXT,
    locked_until TEXT,
    last_run_at  TEXT,
    last_result  TEXT
);
