-- 001: the three migrated tables and the ingestion history.
-- Released: never edit this file; add 002_*.sql for a change.

CREATE TABLE departments (
    id          integer PRIMARY KEY CHECK (id > 0),
    department  text    NOT NULL CHECK (department <> '')
);

CREATE TABLE jobs (
    id   integer PRIMARY KEY CHECK (id > 0),
    job  text    NOT NULL CHECK (job <> '')
);

CREATE TABLE hired_employees (
    id             integer     PRIMARY KEY CHECK (id > 0),
    name           text        NOT NULL CHECK (name <> ''),
    datetime       timestamptz NOT NULL,
    department_id  integer     NOT NULL REFERENCES departments (id),
    job_id         integer     NOT NULL REFERENCES jobs (id)
);

-- No secondary indexes on hired_employees: each one costs every load of a million rows seconds
-- of index maintenance, while the insights read a summary table (see 002) and parent deletes,
-- the only other users, are rare and scan a table of a few million rows in well under a second.

-- One row per load (CSV upload or JSON batch); written before the load's transaction starts
-- so that a load that dies is still on record (status 'running' then 'failed').
CREATE TABLE loads (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name   text        NOT NULL,
    source       text        NOT NULL CHECK (source IN ('csv', 'json')),
    filename     text,
    on_conflict  text        NOT NULL CHECK (on_conflict IN ('reject', 'update')),
    status       text        NOT NULL DEFAULT 'running'
                             CHECK (status IN ('running', 'completed', 'failed')),
    received     integer     NOT NULL DEFAULT 0,
    inserted     integer     NOT NULL DEFAULT 0,
    updated      integer     NOT NULL DEFAULT 0,
    unchanged    integer     NOT NULL DEFAULT 0,
    rejected     integer     NOT NULL DEFAULT 0,
    error        text,
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    duration_ms  integer,
    backend_pid  integer     NOT NULL DEFAULT pg_backend_pid()
);
CREATE INDEX loads_running_idx ON loads (id) WHERE status = 'running';

-- Every rejected row: where it was (CSV line, or index in a JSON batch), what it was, why.
CREATE TABLE load_rejects (
    load_id   bigint  NOT NULL REFERENCES loads (id) ON DELETE CASCADE,
    line      integer NOT NULL,
    raw       text    NOT NULL,
    reasons   jsonb   NOT NULL,
    PRIMARY KEY (load_id, line)
);
