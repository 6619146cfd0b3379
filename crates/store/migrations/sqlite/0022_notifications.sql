-- F31: notifications. The notifier reads each event's source (new hand-offs, breaches, review
-- rounds, complaints, warnings, survey answers) from its cursor and, in the same transaction,
-- writes the inbox rows and the deliveries (e-mails, webhook calls) the sender then works off.
CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    event       TEXT NOT NULL,
    record_type TEXT NOT NULL,
    record_id   INTEGER NOT NULL,
    title_zh    TEXT NOT NULL,
    title_en    TEXT NOT NULL,
    link        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    read_at     TEXT
);
CREATE INDEX notifications_user ON notifications(user_id, id);
CREATE INDEX notifications_unread ON notifications(user_id, id) WHERE read_at IS NULL;

-- A user's choice per event (no row: in the inbox and by e-mail when they have an address).
CREATE TABLE notification_prefs (
    user_id INTEGER NOT NULL REFERENCES users(id),
    event   TEXT NOT NULL,
    in_app  INTEGER NOT NULL,
    email   INTEGER NOT NULL,
    PRIMARY KEY (user_id, event)
);

-- Robots and other systems told about events: WeCom, DingTalk or generic JSON.
CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY,
    version    INTEGER NOT NULL DEFAULT 1,
    name       TEXT NOT NULL,
    format     TEXT NOT NULL,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL DEFAULT '',
    -- JSON array of event names.
    events     TEXT NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- The delivery log: each e-mail and webhook call with its attempts.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    channel         TEXT NOT NULL,
    webhook_id      INTEGER REFERENCES webhooks(id),
    user_id         INTEGER REFERENCES users(id),
    target          TEXT NOT NULL,
    event           TEXT NOT NULL,
    subject         TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX deliveries_due ON deliveries(next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX deliveries_status ON deliveries(status, id);

-- How far the notifier has read each event's source.
CREATE TABLE notify_cursors (
    event  TEXT PRIMARY KEY,
    cursor TEXT NOT NULL
);
