-- Areas: the district model (district → street → community → grid). Boundaries are the
-- GeoJSON coordinates of a MultiPolygon, as text. area_sets records every replacement;
-- its largest id is the version running servers poll to reload.
CREATE TABLE areas (
    code         TEXT PRIMARY KEY,
    parent       TEXT NOT NULL DEFAULT '',
    level        TEXT NOT NULL,
    depth        INTEGER NOT NULL,
    name_zh      TEXT NOT NULL,
    name_en      TEXT NOT NULL,
    centroid_lon DOUBLE PRECISION NOT NULL,
    centroid_lat DOUBLE PRECISION NOT NULL,
    boundary     TEXT NOT NULL
);
CREATE INDEX areas_parent ON areas(parent);
CREATE INDEX areas_depth ON areas(depth, code);

CREATE TABLE area_sets (
    id        {{ID}},
    source    TEXT NOT NULL,
    areas     INTEGER NOT NULL,
    loaded_at BIGINT NOT NULL
);
