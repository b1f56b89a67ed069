// Package telemetry owns the platform's time series: the live state (latest value and
// last-seen time per device and measurement, held in memory and loaded at start), the
// durable history and the queries over it, per device or aggregated across groups of devices
// (per street, community, grid or profile).
//
// History has three tiers behind the Store interface. Append writes readings to a raw table
// (deduplicated on device, measurement and timestamp). A compactor moves raw points older
// than a few minutes into per-hour chunks compressed Gorilla-style (delta-of-delta
// timestamps; XOR floats, or scaled-decimal deltas when values are exact decimals, about
// 2.5 bytes per point on sensor data) and into per-minute and per-hour rollups (count, min,
// max, sum, last), deleting the raw points in the same transaction, so every point is in
// exactly one tier. Retention deletes raw points and chunks after 30 days and rollups after
// 2 years (configurable). Queries with steps of whole minutes or hours read rollups plus the
// few raw points not yet compacted; other queries read chunks and raw points.
//
// Concurrency: a Service is safe for concurrent use. Every write to the Store (appends,
// compaction, retention) is made by the Service's single writer goroutine, which
// group-commits concurrent Append calls in one transaction through a bounded queue (a full
// queue blocks Append until its context ends: backpressure, never a dropped reading); reads
// (Query, QueryGroup) go to the Store concurrently with it. Latest is served from memory.
//
// The package does not import database/sql or net/http: storage is the Store interface
// declared here, implemented by internal/store (SQLite, PostgreSQL) and by MemStore.
package telemetry

import (
	"context"
	"time"
)

// Reading is one decoded sample from a device. TS is epoch milliseconds.
type Reading struct {
	DeviceID    string
	Measurement string
	TS          int64
	Value       float64
}

// Point is one timestamped value: a stored sample, or a query bucket whose TS is the
// bucket's start. TS is epoch milliseconds.
type Point struct {
	TS    int64   `json:"ts"`
	Value float64 `json:"value"`
}

// Aggregation functions accepted in Query.Agg and GroupQuery.Agg.
const (
	AggAvg   = "avg"
	AggMin   = "min"
	AggMax   = "max"
	AggSum   = "sum"
	AggCount = "count"
	AggLast  = "last"
)

// ValidAgg reports whether a names an aggregation function.
func ValidAgg(a string) bool {
	switch a {
	case AggAvg, AggMin, AggMax, AggSum, AggCount, AggLast:
		return true
	}
	return false
}

// Query asks for one series over [From, To). With Step zero it returns the stored points
// (Agg must be empty); with Step > 0 it returns one point per non-empty bucket, buckets
// being aligned to multiples of Step since the Unix epoch (UTC), the first one containing
// From and the last one containing To-1ms. Agg defaults to avg.
type Query struct {
	DeviceID    string
	Measurement string
	From, To    time.Time
	Step        time.Duration
	Agg         string
}

// GroupQuery aggregates one measurement across devices: Groups maps a group key (a street
// code, a profile...) to its device IDs, and each group gets one series of buckets over all
// its devices' points (avg is the mean of all points, last the latest point of any device).
// Step must be positive; alignment is as in Query.
type GroupQuery struct {
	Groups      map[string][]string
	Measurement string
	From, To    time.Time
	Step        time.Duration
	Agg         string
}

// SeriesKey names one series.
type SeriesKey struct {
	DeviceID    string
	Measurement string
}

// Less orders series keys by device, then measurement.
func (k SeriesKey) Less(o SeriesKey) bool {
	if k.DeviceID != o.DeviceID {
		return k.DeviceID < o.DeviceID
	}
	return k.Measurement < o.Measurement
}

// Chunk is a compressed run of one series' points, all within one UTC hour.
type Chunk struct {
	DeviceID    string
	Measurement string
	StartTS     int64 // first point's timestamp
	EndTS       int64 // last point's timestamp
	Count       int
	Data        []byte // EncodeChunk output
}

// Resolution is the bucket width of a rollup table.
type Resolution int

// Rollup resolutions.
const (
	ResMinute Resolution = 1
	ResHour   Resolution = 2
)

// Millis returns the resolution's bucket width in milliseconds.
func (r Resolution) Millis() int64 {
	if r == ResHour {
		return 3600_000
	}
	return 60_000
}

// String returns "minute" or "hour".
func (r Resolution) String() string {
	if r == ResHour {
		return "hour"
	}
	return "minute"
}

// Rollup summarises one series over one bucket [Bucket, Bucket+resolution).
type Rollup struct {
	DeviceID    string
	Measurement string
	Bucket      int64
	Count       int64
	Min, Max    float64
	Sum         float64
	Last        float64
	LastTS      int64 // timestamp of Last; lets "last" combine across devices
}

// Compaction moves raw points of one series and hour into the hour's chunk and rollups (an
// open hour is compacted piecewise: the chunk and rollups then cover the points compacted so
// far). Exactly the raw points it consumed are deleted, so a reading inserted meanwhile (by
// another node sharing the database) is never deleted unseen.
type Compaction struct {
	Key       SeriesKey
	HourStart int64
	RawTS     []int64  // timestamps of the raw points of Key consumed; exactly these are deleted
	Chunk     Chunk    // replaces every chunk of Key whose StartTS lies in the hour
	Minutes   []Rollup // replace every minute rollup of Key in the hour
	Hour      Rollup   // replaces the hour rollup of Key at HourStart
}

// AggRequest asks a Store to fold points or rollups of one measurement into per-group,
// per-step buckets. Step is a positive multiple of the resolution (for rollups); a point or
// rollup at ts belongs to bucket ts - ts%Step and counts when From <= ts < To. A store may
// return the same (group, bucket) more than once (e.g. when it splits a long device list);
// the caller folds them.
type AggRequest struct {
	Measurement string
	Groups      map[string][]string
	From, To    int64
	Step        int64
	// NeedLast asks for Bucket.Last and LastTS; without it a store may leave them zero.
	NeedLast bool
}

// Bucket is one folded bucket of one group.
type Bucket struct {
	Group    string
	TS       int64
	Count    int64
	Min, Max float64
	Sum      float64
	Last     float64
	LastTS   int64
}

// Cutoffs are the retention limits, in epoch ms: anything strictly older is deleted. A store
// that keeps rollups in blocks (Resolution.BlockMillis) deletes a block once all of it is
// older, so rollups may outlive their cutoff by up to one block.
type Cutoffs struct {
	Raw    int64 // raw points and chunks (a chunk goes when its EndTS is older)
	Minute int64 // minute rollups, by bucket start
	Hour   int64 // hour rollups, by bucket start
}

// Store is the durable home of the time series. Implementations: internal/store (SQLite
// and PostgreSQL, one schema) and MemStore. Writes come from one goroutine at a time (the
// Service's writer) so implementations need not order concurrent writers, but reads run
// concurrently with writes. Errors are returned wrapped; none carries a client's mistake.
type Store interface {
	// InsertRaw stores the readings atomically in the raw table; a reading whose
	// (device, measurement, ts) is already there is ignored. On return they are durable.
	InsertRaw(ctx context.Context, rs []Reading) error
	// RawRange returns the raw-table points of one series with from <= ts < to, by ts.
	RawRange(ctx context.Context, key SeriesKey, from, to int64) ([]Point, error)
	// ChunkRange returns the chunks of one series with EndTS >= from and StartTS < to, by StartTS.
	ChunkRange(ctx context.Context, key SeriesKey, from, to int64) ([]Chunk, error)
	// RawSeries returns up to limit series, ordered by (device, measurement) and greater
	// than after, that have raw points with ts < before.
	RawSeries(ctx context.Context, before int64, after SeriesKey, limit int) ([]SeriesKey, error)
	// ApplyCompactions atomically, for each compaction: replaces the chunk and the rollups
	// of its series-hour and deletes the series' raw points at RawTS.
	ApplyCompactions(ctx context.Context, cs []Compaction) error
	// AggregateRaw folds raw-table points (not chunks) into buckets.
	AggregateRaw(ctx context.Context, req AggRequest) ([]Bucket, error)
	// AggregateRollups folds rollups of the resolution into buckets.
	AggregateRollups(ctx context.Context, res Resolution, req AggRequest) ([]Bucket, error)
	// DeleteBefore enforces retention.
	DeleteBefore(ctx context.Context, c Cutoffs) error
	// LatestRaw returns, per series in the raw table, its point with the greatest ts.
	LatestRaw(ctx context.Context) ([]Reading, error)
	// LatestCompacted returns, per series, the latest point that ApplyCompactions moved out
	// of the raw table (the Hour rollup's Last and LastTS), so that the latest values load
	// at start without scanning history.
	LatestCompacted(ctx context.Context) ([]Reading, error)
}
