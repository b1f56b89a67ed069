-- Devices and ingestion: the registry (devices with their credential hash, facilities), the
-- events devices report, downlink commands with their acknowledgement state, and the
-- quarantine of refused messages (the last ones per device; counters live in memory/metrics).
CREATE TABLE facilities (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    area        TEXT NOT NULL DEFAULT '',
    lon         DOUBLE PRECISION NOT NULL DEFAULT 0,
    lat         DOUBLE PRECISION NOT NULL DEFAULT 0,
    address     TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);
CREATE INDEX facilities_area ON facilities(area, id);

-- secret_hash is SHA-256 of the device's random 256-bit secret, hex (see internal/device/credential.go).
CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    profile      TEXT NOT NULL,
    area         TEXT NOT NULL DEFAULT '',
    lon          DOUBLE PRECISION NOT NULL DEFAULT 0,
    lat          DOUBLE PRECISION NOT NULL DEFAULT 0,
    address      TEXT NOT NULL DEFAULT '',
    facility     TEXT NOT NULL DEFAULT '',
    household    TEXT NOT NULL DEFAULT '',
    disabled     INTEGER NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    secret_hash  TEXT NOT NULL,
    rotated_at   BIGINT NOT NULL
);
CREATE INDEX devices_area ON devices(area, id);
CREATE INDEX devices_profile ON devices(profile, id);
CREATE INDEX devices_facility ON devices(facility, id);

CREATE TABLE device_events (
    id         {{ID}},
    device_id  TEXT NOT NULL,
    type       TEXT NOT NULL,
    severity   TEXT NOT NULL,
    ts         BIGINT NOT NULL,
    data       TEXT NOT NULL DEFAULT '',
    received   BIGINT NOT NULL
);
CREATE INDEX device_events_device ON device_events(device_id, id);
CREATE INDEX device_events_received ON device_events(received);

CREATE TABLE device_commands (
    id          TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    params      TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    result      TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    sent_at     BIGINT NOT NULL DEFAULT 0,
    acked_at    BIGINT NOT NULL DEFAULT 0,
    deadline    BIGINT NOT NULL
);
CREATE INDEX device_commands_device ON device_commands(device_id, created_at);
CREATE INDEX device_commands_open ON device_commands(status, deadline);

CREATE TABLE device_rejections (
    id           {{ID}},
    device_id    TEXT NOT NULL,
    at           BIGINT NOT NULL,
    transport    TEXT NOT NULL,
    topic        TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL,
    measurement  TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT '',
    excerpt      TEXT NOT NULL DEFAULT '',
    message      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX device_rejections_device ON device_rejections(device_id, id);

-- The MQTT broker's session state (clients with persistent sessions, their subscriptions,
-- retained messages, outbound in-flight messages) as mochi-mqtt storage records (JSON).
CREATE TABLE mqtt_state (
    kind   TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
