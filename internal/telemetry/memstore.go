package telemetry

import (
	"context"
	"sort"
	"sync"
)

// MemStore is a Store held in memory: nothing survives the process. It serves tests,
// benchmarks and demos without a database; it is safe for concurrent use.
type MemStore struct {
	mu     sync.RWMutex
	raw    map[SeriesKey]map[int64]float64
	chunks map[SeriesKey][]Chunk // sorted by StartTS
	minute map[SeriesKey]map[int64]Rollup
	hour   map[SeriesKey]map[int64]Rollup
	latest map[SeriesKey]Point // latest compacted point per series
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{
		raw:    map[SeriesKey]map[int64]float64{},
		chunks: map[SeriesKey][]Chunk{},
		minute: map[SeriesKey]map[int64]Rollup{},
		hour:   map[SeriesKey]map[int64]Rollup{},
		latest: map[SeriesKey]Point{},
	}
}

// InsertRaw implements Store.
func (m *MemStore) InsertRaw(ctx context.Context, rs []Reading) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rs {
		k := SeriesKey{r.DeviceID, r.Measurement}
		s := m.raw[k]
		if s == nil {
			s = map[int64]float64{}
			m.raw[k] = s
		}
		if _, dup := s[r.TS]; !dup {
			s[r.TS] = r.Value
		}
	}
	return nil
}

// RawRange implements Store.
func (m *MemStore) RawRange(ctx context.Context, key SeriesKey, from, to int64) ([]Point, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []Point
	for ts, v := range m.raw[key] {
		if ts >= from && ts < to {
			out = append(out, Point{ts, v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TS < out[j].TS })
	return out, nil
}

// ChunkRange implements Store.
func (m *MemStore) ChunkRange(ctx context.Context, key SeriesKey, from, to int64) ([]Chunk, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []Chunk
	for _, c := range m.chunks[key] {
		if c.EndTS >= from && c.StartTS < to {
			out = append(out, c)
		}
	}
	return out, nil
}

// RawSeries implements Store.
func (m *MemStore) RawSeries(ctx context.Context, before int64, after SeriesKey, limit int) ([]SeriesKey, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []SeriesKey
	for k, pts := range m.raw {
		if !after.Less(k) {
			continue
		}
		for ts := range pts {
			if ts < before {
				out = append(out, k)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// ApplyCompactions implements Store.
func (m *MemStore) ApplyCompactions(ctx context.Context, cs []Compaction) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range cs {
		end := c.HourStart + hourMs
		var kept []Chunk
		for _, old := range m.chunks[c.Key] {
			if old.StartTS < c.HourStart || old.StartTS >= end {
				kept = append(kept, old)
			}
		}
		ch := c.Chunk
		ch.Data = append([]byte(nil), ch.Data...)
		kept = append(kept, ch)
		sort.Slice(kept, func(i, j int) bool { return kept[i].StartTS < kept[j].StartTS })
		m.chunks[c.Key] = kept

		mins := m.minute[c.Key]
		if mins == nil {
			mins = map[int64]Rollup{}
			m.minute[c.Key] = mins
		}
		for b := range mins {
			if b >= c.HourStart && b < end {
				delete(mins, b)
			}
		}
		for _, r := range c.Minutes {
			mins[r.Bucket] = r
		}
		hrs := m.hour[c.Key]
		if hrs == nil {
			hrs = map[int64]Rollup{}
			m.hour[c.Key] = hrs
		}
		hrs[c.HourStart] = c.Hour
		if l, ok := m.latest[c.Key]; !ok || c.Hour.LastTS > l.TS {
			m.latest[c.Key] = Point{c.Hour.LastTS, c.Hour.Last}
		}

		for _, ts := range c.RawTS {
			delete(m.raw[c.Key], ts)
		}
		if len(m.raw[c.Key]) == 0 {
			delete(m.raw, c.Key)
		}
	}
	return nil
}

// AggregateRaw implements Store.
func (m *MemStore) AggregateRaw(ctx context.Context, req AggRequest) ([]Bucket, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []Bucket
	for g, devs := range req.Groups {
		acc := map[int64]*Bucket{}
		for _, d := range devs {
			for ts, v := range m.raw[SeriesKey{d, req.Measurement}] {
				if ts < req.From || ts >= req.To {
					continue
				}
				t := bucketOf(ts, req.Step)
				b := acc[t]
				if b == nil {
					b = &Bucket{Group: g, TS: t}
					acc[t] = b
				}
				b.Fold(Bucket{Count: 1, Min: v, Max: v, Sum: v, Last: v, LastTS: ts})
			}
		}
		for _, b := range acc {
			out = append(out, *b)
		}
	}
	return out, nil
}

// AggregateRollups implements Store.
func (m *MemStore) AggregateRollups(ctx context.Context, res Resolution, req AggRequest) ([]Bucket, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	table := m.minute
	if res == ResHour {
		table = m.hour
	}
	var out []Bucket
	for g, devs := range req.Groups {
		acc := map[int64]*Bucket{}
		for _, d := range devs {
			for ts, r := range table[SeriesKey{d, req.Measurement}] {
				if ts < req.From || ts >= req.To {
					continue
				}
				t := bucketOf(ts, req.Step)
				b := acc[t]
				if b == nil {
					b = &Bucket{Group: g, TS: t}
					acc[t] = b
				}
				b.Fold(Bucket{Count: r.Count, Min: r.Min, Max: r.Max, Sum: r.Sum, Last: r.Last, LastTS: r.LastTS})
			}
		}
		for _, b := range acc {
			out = append(out, *b)
		}
	}
	return out, nil
}

// DeleteBefore implements Store.
func (m *MemStore) DeleteBefore(ctx context.Context, c Cutoffs) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, s := range m.raw {
		for ts := range s {
			if ts < c.Raw {
				delete(s, ts)
			}
		}
		if len(s) == 0 {
			delete(m.raw, k)
		}
	}
	for k, cs := range m.chunks {
		var kept []Chunk
		for _, ch := range cs {
			if ch.EndTS >= c.Raw {
				kept = append(kept, ch)
			}
		}
		if len(kept) == 0 {
			delete(m.chunks, k)
		} else {
			m.chunks[k] = kept
		}
	}
	for _, t := range []struct {
		m   map[SeriesKey]map[int64]Rollup
		cut int64
	}{{m.minute, c.Minute}, {m.hour, c.Hour}} {
		for k, s := range t.m {
			for b := range s {
				if b < t.cut {
					delete(s, b)
				}
			}
			if len(s) == 0 {
				delete(t.m, k)
			}
		}
	}
	return nil
}

// LatestRaw implements Store.
func (m *MemStore) LatestRaw(ctx context.Context) ([]Reading, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []Reading
	for k, s := range m.raw {
		first := true
		var r Reading
		for ts, v := range s {
			if first || ts > r.TS {
				r = Reading{k.DeviceID, k.Measurement, ts, v}
				first = false
			}
		}
		if !first {
			out = append(out, r)
		}
	}
	return out, nil
}

// LatestCompacted implements Store.
func (m *MemStore) LatestCompacted(ctx context.Context) ([]Reading, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Reading, 0, len(m.latest))
	for k, p := range m.latest {
		out = append(out, Reading{k.DeviceID, k.Measurement, p.TS, p.Value})
	}
	return out, nil
}
