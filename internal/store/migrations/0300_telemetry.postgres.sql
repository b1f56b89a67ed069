-- Telemetry (internal/telemetry): recent raw points, Gorilla-compressed hourly chunks of
-- older points, and per-minute and per-hour rollups (count, min, max, sum, last).
-- Timestamps are epoch milliseconds.
-- The same schema as the SQLite file, without WITHOUT ROWID; byte-order collation so
-- key order and range scans match SQLite's.

CREATE TABLE telemetry_raw (
    device_id   TEXT COLLATE "C" NOT NULL,
    measurement TEXT COLLATE "C" NOT NULL,
    ts          BIGINT NOT NULL,
    value       DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (device_id, measurement, ts)
);

CREATE TABLE telemetry_chunks (
    device_id   TEXT COLLATE "C" NOT NULL,
    measurement TEXT COLLATE "C" NOT NULL,
    start_ts    BIGINT NOT NULL,
    end_ts      BIGINT NOT NULL,
    n_points    INTEGER NOT NULL,
    data        BYTEA NOT NULL,
    PRIMARY KEY (device_id, measurement, start_ts)
);
-- Retention deletes chunks by time; a chunk lies within one hour, so start_ts bounds end_ts.
CREATE INDEX telemetry_chunks_start ON telemetry_chunks (start_ts);

-- Rollups are stored in blocks, one row per series and block: an hour of per-minute
-- rollups, a UTC day of per-hour rollups. data is telemetry.EncodeRollupBlock output (per
-- slot: count, min, max, sum, last, last_ts). Blocks cut the rows a day-long or district-wide
-- query reads by 60 or 24. The index by measurement serves queries over many devices, the
-- index by block_start retention.
CREATE TABLE telemetry_rollup_minute (
    device_id   TEXT COLLATE "C" NOT NULL,
    measurement TEXT COLLATE "C" NOT NULL,
    block_start BIGINT NOT NULL,
    data        BYTEA NOT NULL,
    PRIMARY KEY (device_id, measurement, block_start)
);
CREATE INDEX telemetry_rollup_minute_m ON telemetry_rollup_minute (measurement, block_start);
CREATE INDEX telemetry_rollup_minute_b ON telemetry_rollup_minute (block_start);

CREATE TABLE telemetry_rollup_hour (
    device_id   TEXT COLLATE "C" NOT NULL,
    measurement TEXT COLLATE "C" NOT NULL,
    block_start BIGINT NOT NULL,
    data        BYTEA NOT NULL,
    PRIMARY KEY (device_id, measurement, block_start)
);
CREATE INDEX telemetry_rollup_hour_m ON telemetry_rollup_hour (measurement, block_start);
CREATE INDEX telemetry_rollup_hour_b ON telemetry_rollup_hour (block_start);
