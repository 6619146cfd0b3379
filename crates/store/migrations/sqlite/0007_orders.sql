-- Orders under a contract (F13) with delivery batches (promised to the customer) and production
-- batches (planned, then made).

CREATE TABLE orders (
    id          INTEGER PRIMARY KEY,
    version     INTEGER NOT NULL DEFAULT 1,
    contract_id INTEGER NOT NULL REFERENCES contracts(id),
    number      TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open',
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (contract_id, number)
);

CREATE TABLE delivery_batches (
    id          INTEGER PRIMARY KEY,
    order_id    INTEGER NOT NULL REFERENCES orders(id),
    seq         INTEGER NOT NULL,
    quantity    INTEGER NOT NULL,
    promised_on TEXT NOT NULL,
    UNIQUE (order_id, seq)
);

CREATE TABLE production_batches (
    id         INTEGER PRIMARY KEY,
    order_id   INTEGER NOT NULL REFERENCES orders(id),
    seq        INTEGER NOT NULL,
    quantity   INTEGER NOT NULL,
    planned_on TEXT NOT NULL,
    actual_on  TEXT,
    UNIQUE (order_id, seq)
);
