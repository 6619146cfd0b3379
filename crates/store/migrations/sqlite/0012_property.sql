-- Customer property (F19, 002§4.4): the receipt register with inspection and storage, the use
-- log, status reports to the customer, incidents, and the return that closes it.

CREATE TABLE property (
    id               INTEGER PRIMARY KEY,
    version          INTEGER NOT NULL DEFAULT 1,
    customer_id      INTEGER NOT NULL REFERENCES customers(id),
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL,
    quantity         INTEGER NOT NULL,
    unit             TEXT NOT NULL DEFAULT '',
    note             TEXT NOT NULL DEFAULT '',
    confidential     INTEGER NOT NULL DEFAULT 0,
    control_number   TEXT,
    state            TEXT NOT NULL,
    received_on      TEXT NOT NULL,
    received_by      TEXT NOT NULL,
    inspection_ok    INTEGER,
    inspection_note  TEXT NOT NULL DEFAULT '',
    inspected_by     TEXT,
    inspected_at     TEXT,
    location         TEXT NOT NULL DEFAULT '',
    returned_on      TEXT,
    return_note      TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL
);
CREATE INDEX property_customer ON property(customer_id, id);
CREATE INDEX property_state ON property(state, id);

CREATE TABLE property_uses (
    id          INTEGER PRIMARY KEY,
    property_id INTEGER NOT NULL REFERENCES property(id),
    issued_to   TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    issued_by   TEXT NOT NULL,
    issued_at   TEXT NOT NULL,
    back_at     TEXT,
    back_note   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX property_uses_property ON property_uses(property_id, id);

CREATE TABLE property_reports (
    id          INTEGER PRIMARY KEY,
    property_id INTEGER NOT NULL REFERENCES property(id),
    content     TEXT NOT NULL,
    reported_by TEXT NOT NULL,
    reported_at TEXT NOT NULL
);
CREATE INDEX property_reports_property ON property_reports(property_id, id);

CREATE TABLE property_incidents (
    id          INTEGER PRIMARY KEY,
    property_id INTEGER NOT NULL REFERENCES property(id),
    kind        TEXT NOT NULL,
    description TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    reported_at TEXT,
    report_note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX property_incidents_property ON property_incidents(property_id, id);
