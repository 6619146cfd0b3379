-- F30: the search index, derived from the records. The indexer follows the audit log (every
-- write appends to it in its own transaction, so it is an outbox that survives restarts) and
-- rebuilds everything while search_state says the index is not built.
CREATE TABLE search_docs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    record_id   INTEGER NOT NULL,
    customer_id INTEGER,
    UNIQUE (kind, record_id)
);
-- The tokens of each record (character bigrams and words, see reqloop_domain::search), rowid =
-- search_docs.id; nothing but the index is stored.
CREATE VIRTUAL TABLE search_fts USING fts5(title, body, content = '', contentless_delete = 1);
CREATE TABLE search_state (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    -- 1 once the full build has finished.
    built  INTEGER NOT NULL,
    -- The audit log's seq the index has followed up to.
    cursor INTEGER NOT NULL
);
INSERT INTO search_state (id, built, cursor) VALUES (1, 0, 0);
