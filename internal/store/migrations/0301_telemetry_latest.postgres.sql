-- The latest point per series that compaction moved out of telemetry_raw: the latest values
-- load at start from here and from telemetry_raw, without scanning history.
CREATE TABLE telemetry_latest (
    device_id   TEXT COLLATE "C" NOT NULL,
    measurement TEXT COLLATE "C" NOT NULL,
    ts          BIGINT NOT NULL,
    value       DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (device_id, measurement)
);
