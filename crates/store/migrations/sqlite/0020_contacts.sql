-- Contact plans (F25): collection visits planned by tier, return visits after deliveries, the
-- visit records that close them, and the yearly end-user symposium per product line.

CREATE TABLE contact_tasks (
    id          INTEGER PRIMARY KEY,
    version     INTEGER NOT NULL DEFAULT 1,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    kind        TEXT NOT NULL,
    due_on      TEXT NOT NULL,
    assignee_id INTEGER REFERENCES users(id),
    order_id    INTEGER REFERENCES orders(id),
    state       TEXT NOT NULL,
    visit_id    INTEGER,
    created_at  TEXT NOT NULL,
    done_at     TEXT
);
-- One open collection task per customer; one return visit per delivered order.
CREATE UNIQUE INDEX contact_tasks_open_collection ON contact_tasks(customer_id)
    WHERE kind = 'collection' AND state = 'open';
CREATE UNIQUE INDEX contact_tasks_order ON contact_tasks(order_id) WHERE order_id IS NOT NULL;
CREATE INDEX contact_tasks_assignee ON contact_tasks(assignee_id, state, due_on);
CREATE INDEX contact_tasks_state ON contact_tasks(state, due_on, id);
CREATE INDEX contact_tasks_customer ON contact_tasks(customer_id, id);

CREATE TABLE visits (
    id             INTEGER PRIMARY KEY,
    customer_id    INTEGER NOT NULL REFERENCES customers(id),
    task_id        INTEGER REFERENCES contact_tasks(id),
    visited_on     TEXT NOT NULL,
    method         TEXT NOT NULL,
    contact_person TEXT NOT NULL DEFAULT '',
    attendees      TEXT NOT NULL DEFAULT '',
    summary        TEXT NOT NULL,
    needs          TEXT NOT NULL DEFAULT '',
    by_id          INTEGER REFERENCES users(id),
    by_name        TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX visits_customer ON visits(customer_id, visited_on);
CREATE INDEX visits_day ON visits(visited_on, id);

CREATE TABLE symposia (
    id           INTEGER PRIMARY KEY,
    version      INTEGER NOT NULL DEFAULT 1,
    year         INTEGER NOT NULL,
    product_line TEXT NOT NULL,
    planned_on   TEXT NOT NULL,
    place        TEXT NOT NULL DEFAULT '',
    agenda       TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL,
    held_on      TEXT,
    minutes      TEXT NOT NULL DEFAULT '',
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (year, product_line)
);

CREATE TABLE symposium_attendees (
    id           INTEGER PRIMARY KEY,
    symposium_id INTEGER NOT NULL REFERENCES symposia(id),
    customer_id  INTEGER REFERENCES customers(id),
    name         TEXT NOT NULL,
    title        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX symposium_attendees_symposium ON symposium_attendees(symposium_id, id);
