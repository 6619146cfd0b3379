-- The pre-delivery check (F15): the agreement version an order was placed under, the items people
-- record, and the delivery itself (with a waiver when an authorised user overrode failing items).
ALTER TABLE orders ADD COLUMN contract_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN delivered_at TEXT;
ALTER TABLE orders ADD COLUMN delivered_by TEXT;
ALTER TABLE orders ADD COLUMN waiver TEXT NOT NULL DEFAULT '';

CREATE TABLE delivery_checks (
    order_id   INTEGER NOT NULL REFERENCES orders(id),
    item       TEXT NOT NULL,
    passed     INTEGER NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    checked_by TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    PRIMARY KEY (order_id, item)
);
