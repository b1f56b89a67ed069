-- Chunks and rollup blocks are blobs of hundreds of bytes to kilobytes. In the WITHOUT ROWID
-- tables of 0300 rows over about 1,000 bytes spill into mostly empty overflow pages (a day
-- of one-minute data took 83 bytes per point on disk, 40 after this change), so they become
-- rowid tables, their primary key a separate index. The raw table keeps WITHOUT ROWID: its
-- rows are small.

CREATE TABLE telemetry_chunks_new (
    device_id   TEXT NOT NULL,
    measurement TEXT NOT NULL,
    start_ts    BIGINT NOT NULL,
    end_ts      BIGINT NOT NULL,
    n_points    INTEGER NOT NULL,
    data        BLOB NOT NULL,
    PRIMARY KEY (device_id, measurement, start_ts)
);
INSERT INTO telemetry_chunks_new SELECT * FROM telemetry_chunks;
DROP TABLE telemetry_chunks;
ALTER TABLE telemetry_chunks_new RENAME TO telemetry_chunks;
CREATE INDEX telemetry_chunks_start ON telemetry_chunks (start_ts);

CREATE TABLE telemetry_rollup_minute_new (
    device_id   TEXT NOT NULL,
    measurement TEXT NOT NULL,
    block_start BIGINT NOT NULL,
    data        BLOB NOT NULL,
    PRIMARY KEY (device_id, measurement, block_start)
);
INSERT INTO telemetry_rollup_minute_new SELECT * FROM telemetry_rollup_minute;
DROP TABLE telemetry_rollup_minute;
ALTER TABLE telemetry_rollup_minute_new RENAME TO telemetry_rollup_minute;
CREATE INDEX telemetry_rollup_minute_m ON telemetry_rollup_minute (measurement, block_start);
CREATE INDEX telemetry_rollup_minute_b ON telemetry_rollup_minute (block_start);

CREATE TABLE telemetry_rollup_hour_new (
    device_id   TEXT NOT NULL,
    measurement TEXT NOT NULL,
    block_start BIGINT NOT NULL,
    data        BLOB NOT NULL,
    PRIMARY KEY (device_id, measurement, block_start)
);
INSERT INTO telemetry_rollup_hour_new SELECT * FROM telemetry_rollup_hour;
DROP TABLE telemetry_rollup_hour;
ALTER TABLE telemetry_rollup_hour_new RENAME TO telemetry_rollup_hour;
CREATE INDEX telemetry_rollup_hour_m ON telemetry_rollup_hour (measurement, block_start);
CREATE INDEX telemetry_rollup_hour_b ON telemetry_rollup_hour (block_start);

-- The latest point per series that compaction moved out of telemetry_raw: the latest values
-- load at start from here and from telemetry_raw, without scanning history.
CREATE TABLE telemetry_latest (
    device_id   TEXT NOT NULL,
    measurement TEXT NOT NULL,
    ts          BIGINT NOT NULL,
    value       DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (device_id, measurement)
) WITHOUT ROWID;
