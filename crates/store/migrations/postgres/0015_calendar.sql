-- The working calendar's years (F22): the statutory holidays and make-up working days of a year
-- as an administrator saved or imported them; a year not here uses the built-in notice data.
-- Business hours live in `settings` (key `business_hours`).

CREATE TABLE calendar_years (
    year       BIGINT PRIMARY KEY,
    version    BIGINT NOT NULL DEFAULT 1,
    holidays   TEXT NOT NULL,
    workdays   TEXT NOT NULL,
    source     TEXT NOT NULL DEFAULT '',
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
