-- F32: API tokens with which other systems (ERP, MES) act as a user: a scope, an expiry, and
-- revocable. Only the SHA-256 of the token is kept; the token is shown once.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    -- 'read' (reading only) or 'write' (everything the user may do).
    scope        TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT,
    last_used_at TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX api_tokens_user ON api_tokens(user_id, id);
