// Package telemetrytest is the conformance suite every telemetry.Store must pass: the
// in-memory store runs it in internal/telemetry, the SQLite and PostgreSQL stores in
// internal/store. It holds no state; each test gets a fresh store from the caller.
package telemetrytest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/citybrain/citybrain/internal/telemetry"
)

// NewStore returns an empty store for one test; cleanup is the caller's (t.Cleanup).
type NewStore func(t *testing.T) telemetry.Store

const (
	hour = int64(3600_000)
	min  = int64(60_000)
	// t0 is 2026-11-28T00:00:00Z.
	t0 = int64(1795824000000)
)

// Run runs the whole suite.
func Run(t *testing.T, newStore NewStore) {
	t.Run("InsertRawDedupe", func(t *testing.T) { testInsertRaw(t, newStore(t)) })
	t.Run("LargeBatch", func(t *testing.T) { testLargeBatch(t, newStore(t)) })
	t.Run("RawSeries", func(t *testing.T) { testRawSeries(t, newStore(t)) })
	t.Run("Compaction", func(t *testing.T) { testCompaction(t, newStore(t)) })
	t.Run("Aggregate", func(t *testing.T) { testAggregate(t, newStore(t)) })
	t.Run("AggregateManyDevices", func(t *testing.T) { testAggregateMany(t, newStore(t)) })
	t.Run("AggregateLongRange", func(t *testing.T) { testAggregateLongRange(t, newStore(t)) })
	t.Run("DeleteBefore", func(t *testing.T) { testDeleteBefore(t, newStore(t)) })
	t.Run("Latest", func(t *testing.T) { testLatest(t, newStore(t)) })
	t.Run("Service", func(t *testing.T) { testService(t, newStore(t)) })
	t.Run("OpenHourCompaction", func(t *testing.T) { testOpenHour(t, newStore(t)) })
}

func rd(d, m string, ts int64, v float64) telemetry.Reading {
	return telemetry.Reading{DeviceID: d, Measurement: m, TS: ts, Value: v}
}

func pt(ts int64, v float64) telemetry.Point { return telemetry.Point{TS: ts, Value: v} }

func sk(d, m string) telemetry.SeriesKey { return telemetry.SeriesKey{DeviceID: d, Measurement: m} }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testInsertRaw(t *testing.T, s telemetry.Store) {
	ctx := context.Background()
	k := telemetry.SeriesKey{DeviceID: "井盖-001", Measurement: "level_cm"}
	must(t, s.InsertRaw(ctx, []telemetry.Reading{
		rd(k.DeviceID, k.Measurement, t0+2000, 2),
		rd(k.DeviceID, k.Measurement, t0+1000, 1),
		rd(k.DeviceID, k.Measurement, t0+1000, 99), // duplicate in the same batch: first wins
		rd(k.DeviceID, "battery", t0+1000, 80),
		rd("other", k.Measurement, t0+1000, 5),
	}))
	must(t, s.InsertRaw(ctx, []telemetry.Reading{
		rd(k.DeviceID, k.Measurement, t0+2000, 42), // duplicate of a stored point
		rd(k.DeviceID, k.Measurement, t0+3000, 3),
	}))
	cases := []struct {
		name     string
		from, to int64
		want     []telemetry.Point
	}{
		{"all", 0, math.MaxInt64, []telemetry.Point{pt(t0+1000, 1), pt(t0+2000, 2), pt(t0+3000, 3)}},
		{"from inclusive to exclusive", t0 + 2000, t0 + 3000, []telemetry.Point{pt(t0+2000, 2)}},
		{"empty", t0 + 5000, t0 + 9000, nil},
	}
	for _, c := range cases {
		got, err := s.RawRange(ctx, k, c.from, c.to)
		must(t, err)
		if len(got) != len(c.want) || (len(got) > 0 && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("%s: RawRange = %v, want %v", c.name, got, c.want)
		}
	}
}

func testLargeBatch(t *testing.T, s telemetry.Store) {
	ctx := context.Background()
	var rs []telemetry.Reading
	for i := 0; i < 25_000; i++ {
		rs = append(rs, telemetry.Reading{DeviceID: fmt.Sprintf("d%03d", i%100), Measurement: "pm25", TS: t0 + int64(i/100)*min, Value: float64(i)})
	}
	must(t, s.InsertRaw(ctx, rs))
	must(t, s.InsertRaw(ctx, rs)) // all duplicates
	got, err := s.RawRange(ctx, telemetry.SeriesKey{DeviceID: "d007", Measurement: "pm25"}, 0, math.MaxInt64)
	must(t, err)
	if len(got) != 250 || got[0].Value != 7 || got[249].Value != 24907 {
		t.Fatalf("RawRange after 25,000-reading batch: %d points, first %v", len(got), got[:1])
	}
}

func testRawSeries(t *testing.T, s telemetry.Store) {
	ctx := context.Background()
	must(t, s.InsertRaw(ctx, []telemetry.Reading{
		rd("a", "x", t0, 1), rd("a", "y", t0+2*hour, 1), rd("b", "x", t0+10, 1), rd("c", "x", t0+20, 1),
	}))
	cases := []struct {
		name   string
		before int64
		after  telemetry.SeriesKey
		limit  int
		want   []telemetry.SeriesKey
	}{
		{"all before hour", t0 + hour, telemetry.SeriesKey{}, 10, []telemetry.SeriesKey{sk("a", "x"), sk("b", "x"), sk("c", "x")}},
		{"limit", t0 + hour, telemetry.SeriesKey{}, 2, []telemetry.SeriesKey{sk("a", "x"), sk("b", "x")}},
		{"after", t0 + hour, sk("a", "x"), 10, []telemetry.SeriesKey{sk("b", "x"), sk("c", "x")}},
		{"after same device", 1 << 62, sk("a", "x"), 10, []telemetry.SeriesKey{sk("a", "y"), sk("b", "x"), sk("c", "x")}},
		{"none", t0, telemetry.SeriesKey{}, 10, nil},
	}
	for _, c := range cases {
		got, err := s.RawSeries(ctx, c.before, c.after, c.limit)
		must(t, err)
		if len(got) != len(c.want) || (len(got) > 0 && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("%s: RawSeries = %v, want %v", c.name, got, c.want)
		}
	}
}

func compaction(t *testing.T, k telemetry.SeriesKey, h int64, pts []telemetry.Point) telemetry.Compaction {
	t.Helper()
	data, err := telemetry.EncodeChunk(pts)
	must(t, err)
	c := telemetry.Compaction{Key: k, HourStart: h,
		Chunk: telemetry.Chunk{DeviceID: k.DeviceID, Measurement: k.Measurement, StartTS: pts[0].TS, EndTS: pts[len(pts)-1].TS, Count: len(pts), Data: data},
		Hour:  telemetry.Rollup{DeviceID: k.DeviceID, Measurement: k.Measurement, Bucket: h, Min: math.Inf(1), Max: math.Inf(-1)}}
	for _, p := range pts {
		c.RawTS = append(c.RawTS, p.TS)
		m := p.TS - p.TS%min
		if n := len(c.Minutes); n == 0 || c.Minutes[n-1].Bucket != m {
			c.Minutes = append(c.Minutes, telemetry.Rollup{DeviceID: k.DeviceID, Measurement: k.Measurement, Bucket: m, Min: math.Inf(1), Max: math.Inf(-1)})
		}
		for _, r := range []*telemetry.Rollup{&c.Minutes[len(c.Minutes)-1], &c.Hour} {
			r.Count++
			r.Sum += p.Value
			r.Min = math.Min(r.Min, p.Value)
			r.Max = math.Max(r.Max, p.Value)
			r.Last, r.LastTS = p.Value, p.TS
		}
	}
	return c
}

func testCompaction(t *testing.T, s telemetry.Store) {
	ctx := context.Background()
	k := telemetry.SeriesKey{DeviceID: "bridge-7", Measurement: "tilt"}
	other := telemetry.SeriesKey{DeviceID: "bridge-8", Measurement: "tilt"}
	must(t, s.InsertRaw(ctx, []telemetry.Reading{
		rd(k.DeviceID, k.Measurement, t0+1000, 1), rd(k.DeviceID, k.Measurement, t0+61_000, 2),
		rd(k.DeviceID, k.Measurement, t0+hour+5, 3), // next hour: stays raw
		rd(k.DeviceID, k.Measurement, t0+50*min, 4), // same hour, not consumed: stays raw
		rd(other.DeviceID, other.Measurement, t0+1000, 9),
	}))
	first := compaction(t, k, t0, []telemetry.Point{pt(t0+1000, 1), pt(t0+61_000, 2)})
	must(t, s.ApplyCompactions(ctx, []telemetry.Compaction{first}))

	raw, err := s.RawRange(ctx, k, 0, math.MaxInt64)
	must(t, err)
	if len(raw) != 2 || raw[0].TS != t0+50*min || raw[1].TS != t0+hour+5 {
		t.Fatalf("raw after compaction = %v, want the points it did not consume", raw)
	}
	if raw, _ := s.RawRange(ctx, other, 0, math.MaxInt64); len(raw) != 1 {
		t.Fatalf("other series' raw points touched: %v", raw)
	}
	chunks, err := s.ChunkRange(ctx, k, t0, t0+hour)
	must(t, err)
	if len(chunks) != 1 || chunks[0].Count != 2 || chunks[0].StartTS != t0+1000 || chunks[0].EndTS != t0+61_000 {
		t.Fatalf("chunks = %+v", chunks)
	}
	if pts, err := telemetry.DecodeChunk(chunks[0].Data); err != nil || len(pts) != 2 || pts[1].Value != 2 {
		t.Fatalf("chunk data decodes to %v, %v", pts, err)
	}
	// Overlap semantics: a chunk is returned when EndTS >= from and StartTS < to.
	for _, c := range []struct {
		from, to int64
		n        int
	}{{t0 + 61_000, t0 + 62_000, 1}, {t0 + 61_001, t0 + hour, 0}, {0, t0 + 1000, 0}, {0, t0 + 1001, 1}} {
		got, err := s.ChunkRange(ctx, k, c.from, c.to)
		must(t, err)
		if len(got) != c.n {
			t.Errorf("ChunkRange(%d, %d) = %d chunks, want %d", c.from-t0, c.to-t0, len(got), c.n)
		}
	}

	// A late point recompacted into the same hour replaces the chunk and the rollups.
	second := compaction(t, k, t0, []telemetry.Point{pt(t0+500, 7), pt(t0+1000, 1), pt(t0+61_000, 2)})
	must(t, s.ApplyCompactions(ctx, []telemetry.Compaction{second}))
	chunks, err = s.ChunkRange(ctx, k, 0, math.MaxInt64)
	must(t, err)
	if len(chunks) != 1 || chunks[0].Count != 3 || chunks[0].StartTS != t0+500 {
		t.Fatalf("chunks after recompaction = %+v", chunks)
	}
	req := telemetry.AggRequest{Measurement: k.Measurement, Groups: map[string][]string{"g": {k.DeviceID}}, From: t0, To: t0 + hour, Step: min, NeedLast: true}
	mins, err := s.AggregateRollups(ctx, telemetry.ResMinute, req)
	must(t, err)
	sortBuckets(mins)
	want := []telemetry.Bucket{
		{Group: "g", TS: t0, Count: 2, Min: 1, Max: 7, Sum: 8, Last: 1, LastTS: t0 + 1000},
		{Group: "g", TS: t0 + min, Count: 1, Min: 2, Max: 2, Sum: 2, Last: 2, LastTS: t0 + 61_000},
	}
	if !reflect.DeepEqual(mins, want) {
		t.Fatalf("minute rollups = %+v, want %+v", mins, want)
	}
	req.Step = hour
	hrs, err := s.AggregateRollups(ctx, telemetry.ResHour, req)
	must(t, err)
	if len(hrs) != 1 || hrs[0].Count != 3 || hrs[0].Sum != 10 || hrs[0].Last != 2 {
		t.Fatalf("hour rollups = %+v", hrs)
	}
}

func sortBuckets(bs []telemetry.Bucket) {
	sort.Slice(bs, func(i, j int) bool {
		if bs[i].Group != bs[j].Group {
			return bs[i].Group < bs[j].Group
		}
		return bs[i].TS < bs[j].TS
	})
}

func testAggregate(t *testing.T, s telemetry.Store) {
	ctx := context.Background()
	// Three devices on two streets; d1 and d2 on 人民路, d3 on 解放路.
	var rs []telemetry.Reading
	for i := int64(0); i < 120; i++ {
		rs = append(rs,
			telemetry.Reading{DeviceID: "d1", Measurement: "pm25", TS: t0 + i*min, Value: float64(i)},
			telemetry.Reading{DeviceID: "d2", Measurement: "pm25", TS: t0 + i*min + 30_000, Value: 100},
			telemetry.Reading{DeviceID: "d3", Measurement: "pm25", TS: t0 + i*min, Value: 1},
			telemetry.Reading{DeviceID: "d1", Measurement: "noise", TS: t0 + i*min, Value: 60},
		)
	}
	must(t, s.InsertRaw(ctx, rs))
	groups := map[string][]string{"人民路": {"d1", "d2"}, "解放路": {"d3"}, "空": {"nobody"}}
	req := telemetry.AggRequest{Measurement: "pm25", Groups: groups, From: t0, To: t0 + 2*hour, Step: hour, NeedLast: true}
	raw, err := s.AggregateRaw(ctx, req)
	must(t, err)
	sortBuckets(raw)
	want := []telemetry.Bucket{
		{Group: "人民路", TS: t0, Count: 120, Min: 0, Max: 100, Sum: 1770 + 6000, Last: 100, LastTS: t0 + 59*min + 30_000},
		{Group: "人民路", TS: t0 + hour, Count: 120, Min: 60, Max: 119, Sum: 5370 + 6000, Last: 100, LastTS: t0 + 119*min + 30_000},
		{Group: "解放路", TS: t0, Count: 60, Min: 1, Max: 1, Sum: 60, Last: 1, LastTS: t0 + 59*min},
		{Group: "解放路", TS: t0 + hour, Count: 60, Min: 1, Max: 1, Sum: 60, Last: 1, LastTS: t0 + 119*min},
	}
	if !reflect.DeepEqual(raw, want) {
		t.Fatalf("AggregateRaw =\n%+v\nwant\n%+v", raw, want)
	}
	// Range bounds: [t0+30min, t0+60min) with 30-minute steps sees one bucket per street.
	req = telemetry.AggRequest{Measurement: "pm25", Groups: groups, From: t0 + 30*min, To: t0 + hour, Step: 30 * min}
	raw, err = s.AggregateRaw(ctx, req)
	must(t, err)
	if len(raw) != 2 {
		t.Fatalf("AggregateRaw half hour = %+v", raw)
	}
	for _, b := range raw {
		if b.TS != t0+30*min || (b.Group == "人民路" && b.Count != 60) || (b.Group == "解放路" && b.Count != 30) {
			t.Errorf("bucket %+v", b)
		}
	}

	// The same through rollups: compact both hours of every series, then aggregate rollups.
	var cs []telemetry.Compaction
	for _, d := range []string{"d1", "d2", "d3"} {
		k := telemetry.SeriesKey{DeviceID: d, Measurement: "pm25"}
		for h := t0; h < t0+2*hour; h += hour {
			pts, err := s.RawRange(ctx, k, h, h+hour)
			must(t, err)
			cs = append(cs, compaction(t, k, h, pts))
		}
	}
	must(t, s.ApplyCompactions(ctx, cs))
	req = telemetry.AggRequest{Measurement: "pm25", Groups: groups, From: t0, To: t0 + 2*hour, Step: hour, NeedLast: true}
	for _, res := range []telemetry.Resolution{telemetry.ResMinute, telemetry.ResHour} {
		got, err := s.AggregateRollups(ctx, res, req)
		must(t, err)
		sortBuckets(got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("AggregateRollups(%s) =\n%+v\nwant\n%+v", res, got, want)
		}
	}
	if raw, _ := s.AggregateRaw(ctx, req); len(raw) != 0 {
		t.Errorf("raw left after compaction: %+v", raw)
	}
	// A two-hour step folds two hour rollups.
	req.Step = 2 * hour
	got, err := s.AggregateRollups(ctx, telemetry.ResHour, req)
	must(t, err)
	sortBuckets(got)
	if len(got) != 2 || got[0].Count != 240 || got[0].LastTS != t0+119*min+30_000 || got[1].Sum != 120 {
		t.Errorf("two-hour buckets = %+v", got)
	}
}

// testAggregateMany covers requests over many devices (stores may plan them differently),
// devices in two groups, and devices without data.
func testAggregateMany(t *testing.T, s telemetry.Store) {
	ctx := context.Background()
	const n = 300
	groups := map[string][]string{"all": {"ghost"}, "even": {}}
	var rs []telemetry.Reading
	var cs []telemetry.Compaction
	for d := 0; d < n; d++ {
		dev := fmt.Sprintf("dev-%03d", d)
		groups["all"] = append(groups["all"], dev)
		if d%2 == 0 {
			groups["even"] = append(groups["even"], dev)
		}
		// Hour 0 compacted (rollups), hour 1 raw; value d at minute 10, d+1 at minute 50.
		for h := int64(0); h < 2; h++ {
			pts := []telemetry.Point{pt(t0+h*hour+10*min, float64(d)), pt(t0+h*hour+50*min, float64(d+1))}
			if h == 0 {
				cs = append(cs, compaction(t, sk(dev, "pm25"), t0, pts))
				continue
			}
			for _, p := range pts {
				rs = append(rs, rd(dev, "pm25", p.TS, p.Value))
			}
		}
		rs = append(rs, rd(dev, "noise", t0+hour+5, 99)) // another measurement
	}
	must(t, s.InsertRaw(ctx, rs))
	must(t, s.ApplyCompactions(ctx, cs))
	want := func(group string, ts int64) telemetry.Bucket {
		b := telemetry.Bucket{Group: group, TS: ts, Min: 0, Max: n, LastTS: ts + 50*min}
		for d := 0; d < n; d++ {
			if group == "even" && d%2 != 0 {
				continue
			}
			b.Count += 2
			b.Sum += float64(2*d + 1)
			b.Max = float64(d + 1)
		}
		b.Last = b.Max // the latest points (minute 50) all share one timestamp; any of them
		return b
	}
	req := telemetry.AggRequest{Measurement: "pm25", Groups: groups, From: t0, To: t0 + 2*hour, Step: hour, NeedLast: true}
	raw, err := s.AggregateRaw(ctx, req)
	must(t, err)
	rolls, err := s.AggregateRollups(ctx, telemetry.ResHour, req)
	must(t, err)
	mins, err := s.AggregateRollups(ctx, telemetry.ResMinute, req)
	must(t, err)
	for _, c := range []struct {
		name string
		got  []telemetry.Bucket
		ts   int64
	}{{"raw", raw, t0 + hour}, {"hour rollups", rolls, t0}, {"minute rollups", mins, t0}} {
		folded := map[string]*telemetry.Bucket{}
		for _, b := range c.got {
			if b.TS != c.ts {
				t.Errorf("%s: bucket at %d, want only %d", c.name, b.TS-t0, c.ts-t0)
				continue
			}
			if folded[b.Group] == nil {
				folded[b.Group] = &telemetry.Bucket{Group: b.Group, TS: b.TS}
			}
			folded[b.Group].Fold(b)
		}
		for _, g := range []string{"all", "even"} {
			w := want(g, c.ts)
			got := folded[g]
			if got == nil || got.Count != w.Count || got.Sum != w.Sum || got.Min != w.Min || got.Max != w.Max || got.LastTS != w.LastTS {
				t.Errorf("%s group %s = %+v, want %+v", c.name, g, got, w)
			}
		}
	}
}

// sparse range: a week of one-minute buckets (stores may fold long ranges differently).
func testAggregateLongRange(t *testing.T, s telemetry.Store) {
	ctx := context.Background()
	var rs []telemetry.Reading
	for d := 0; d < 3; d++ {
		rs = append(rs, rd(fmt.Sprintf("d%d", d), "m", t0+10*min, 1), rd(fmt.Sprintf("d%d", d), "m", t0+50*min+5, float64(d)))
	}
	must(t, s.InsertRaw(ctx, rs))
	req := telemetry.AggRequest{Measurement: "m", Groups: map[string][]string{"g": {"d0", "d1", "d2"}}, From: t0 - 7*24*hour, To: t0 + hour, Step: min, NeedLast: true}
	got, err := s.AggregateRaw(ctx, req)
	must(t, err)
	sortBuckets(got)
	want := []telemetry.Bucket{
		{Group: "g", TS: t0 + 10*min, Count: 3, Min: 1, Max: 1, Sum: 3, Last: 1, LastTS: t0 + 10*min},
		{Group: "g", TS: t0 + 50*min, Count: 3, Min: 0, Max: 2, Sum: 3, Last: 0, LastTS: t0 + 50*min + 5},
	}
	if len(got) != 2 || got[0] != want[0] || got[1].Count != 3 || got[1].Sum != 3 || got[1].LastTS != want[1].LastTS {
		t.Fatalf("AggregateRaw over a week of minutes = %+v, want %+v", got, want)
	}
}

func testDeleteBefore(t *testing.T, s telemetry.Store) {
	ctx := context.Background()
	k := telemetry.SeriesKey{DeviceID: "d", Measurement: "m"}
	must(t, s.InsertRaw(ctx, []telemetry.Reading{rd("d", "m", t0+10, 1), rd("d", "m", t0+hour+10, 2), rd("d", "m", t0+3*hour, 3)}))
	must(t, s.ApplyCompactions(ctx, []telemetry.Compaction{
		compaction(t, k, t0, []telemetry.Point{pt(t0+10, 1)}),
		compaction(t, k, t0+hour, []telemetry.Point{pt(t0+hour+10, 2)}),
	}))
	must(t, s.DeleteBefore(ctx, telemetry.Cutoffs{Raw: t0 + hour + 11, Minute: t0 + hour, Hour: t0}))
	chunks, err := s.ChunkRange(ctx, k, 0, math.MaxInt64)
	must(t, err)
	if len(chunks) != 0 {
		t.Errorf("chunks ending before the raw cutoff survive: %+v", chunks)
	}
	raw, err := s.RawRange(ctx, k, 0, math.MaxInt64)
	must(t, err)
	if len(raw) != 1 || raw[0].Value != 3 {
		t.Errorf("raw after retention = %v", raw)
	}
	req := telemetry.AggRequest{Measurement: "m", Groups: map[string][]string{"": {"d"}}, From: 0, To: t0 + 10*hour, Step: hour}
	mins, err := s.AggregateRollups(ctx, telemetry.ResMinute, req)
	must(t, err)
	if len(mins) != 1 || mins[0].TS != t0+hour {
		t.Errorf("minute rollups after retention = %+v", mins)
	}
	hrs, err := s.AggregateRollups(ctx, telemetry.ResHour, req)
	must(t, err)
	if len(hrs) != 2 {
		t.Errorf("hour rollups after retention = %+v", hrs)
	}
}

func testLatest(t *testing.T, s telemetry.Store) {
	ctx := context.Background()
	must(t, s.InsertRaw(ctx, []telemetry.Reading{rd("a", "x", t0+1, 1), rd("a", "x", t0+3, 3), rd("a", "x", t0+2, 2), rd("b", "y", t0+5, 5)}))
	k := telemetry.SeriesKey{DeviceID: "c", Measurement: "z"}
	must(t, s.ApplyCompactions(ctx, []telemetry.Compaction{
		compaction(t, k, t0, []telemetry.Point{pt(t0+10, 1)}),
		compaction(t, k, t0+hour, []telemetry.Point{pt(t0+hour+10, 2), pt(t0+hour+20, 4)}),
	}))
	raw, err := s.LatestRaw(ctx)
	must(t, err)
	sort.Slice(raw, func(i, j int) bool { return raw[i].DeviceID < raw[j].DeviceID })
	want := []telemetry.Reading{rd("a", "x", t0+3, 3), rd("b", "y", t0+5, 5)}
	if !reflect.DeepEqual(raw, want) {
		t.Errorf("LatestRaw = %v, want %v", raw, want)
	}
	// Compacting an older hour afterwards must not move the latest point back.
	must(t, s.ApplyCompactions(ctx, []telemetry.Compaction{compaction(t, k, t0, []telemetry.Point{pt(t0+10, 1), pt(t0+20, 5)})}))
	done, err := s.LatestCompacted(ctx)
	must(t, err)
	if len(done) != 1 || done[0] != rd("c", "z", t0+hour+20, 4) {
		t.Errorf("LatestCompacted = %+v", done)
	}
}

// testService drives a Service over the store: appends with duplicates, compaction and
// queries, and checks each query against a brute-force answer before and after compaction.
func testService(t *testing.T, st telemetry.Store) {
	ctx := context.Background()
	now := time.UnixMilli(t0 + 6*hour + 10*min)
	svc, err := telemetry.Open(ctx, st, telemetry.Options{Now: func() time.Time { return now }, MaintainEvery: -1})
	must(t, err)
	defer svc.Close()
	r := rand.New(rand.NewPCG(5, 6))
	devs := []string{"d1", "d2", "d3", "d4"}
	all := map[string][]telemetry.Point{}
	for i := int64(0); i < 6*60; i++ {
		var batch []telemetry.Reading
		for _, d := range devs {
			ts := t0 + i*min + int64(r.IntN(50_000))
			v := math.Round(r.Float64()*1000) / 10
			batch = append(batch, telemetry.Reading{DeviceID: d, Measurement: "level", TS: ts, Value: v})
			all[d] = append(all[d], telemetry.Point{TS: ts, Value: v})
		}
		must(t, svc.Append(ctx, batch))
		must(t, svc.Append(ctx, batch[:1])) // redelivery
	}
	groups := map[string][]string{"north": {"d1", "d2"}, "south": {"d3", "d4"}}
	type q struct {
		from, to int64
		step     time.Duration
		agg      string
	}
	queries := []q{
		{t0, t0 + 6*hour, time.Hour, telemetry.AggAvg},
		{t0, t0 + 6*hour, time.Hour, telemetry.AggLast},
		{t0 + 17*min, t0 + 3*hour, 15 * time.Minute, telemetry.AggMax},
		{t0, t0 + 6*hour, 2 * time.Hour, telemetry.AggCount},
		{t0 + hour, t0 + 2*hour, 10 * time.Second, telemetry.AggSum},
		{t0, t0 + 6*hour, time.Minute, telemetry.AggMin},
	}
	check := func(stage string) {
		for _, c := range queries {
			got, err := svc.QueryGroup(ctx, telemetry.GroupQuery{Groups: groups, Measurement: "level",
				From: time.UnixMilli(c.from), To: time.UnixMilli(c.to), Step: c.step, Agg: c.agg})
			must(t, err)
			for g, ds := range groups {
				want := bruteForce(all, ds, c.from, c.to, c.step.Milliseconds(), c.agg)
				if !closeEnough(got[g], want) {
					t.Errorf("%s: group %s step %v agg %s:\n got %v\nwant %v", stage, g, c.step, c.agg, got[g], want)
				}
			}
		}
		pts, err := svc.Query(ctx, telemetry.Query{DeviceID: "d2", Measurement: "level", From: time.UnixMilli(t0), To: time.UnixMilli(t0 + 6*hour)})
		must(t, err)
		want := append([]telemetry.Point(nil), all["d2"]...)
		if !reflect.DeepEqual(pts, want) {
			t.Errorf("%s: raw points of d2: %d points, want %d", stage, len(pts), len(want))
		}
	}
	check("before compaction")
	must(t, svc.Compact(ctx))
	if st := svc.Stats(); st.Compacted != int64(6*len(devs)) {
		t.Errorf("compacted %d series-hours, want %d", st.Compacted, 6*len(devs))
	}
	check("after compaction")
	// A late point and a redelivered old point after compaction.
	late := telemetry.Reading{DeviceID: "d1", Measurement: "level", TS: t0 + 5, Value: 1234}
	must(t, svc.Append(ctx, []telemetry.Reading{late}))
	all["d1"] = append([]telemetry.Point{{TS: late.TS, Value: late.Value}}, all["d1"]...)
	check("late point raw")
	must(t, svc.Compact(ctx))
	if st := svc.Stats(); st.Compacted != int64(6*len(devs))+1 {
		t.Errorf("after the late point: compacted %d series-hours, want %d", st.Compacted, 6*len(devs)+1)
	}
	check("late point compacted")
	latest, err := svc.Latest(ctx, "d3")
	must(t, err)
	last := all["d3"][len(all["d3"])-1]
	if latest["level"] != last {
		t.Errorf("Latest(d3) = %v, want %v", latest, last)
	}
	// A new Service over the same store loads the latest values back.
	must(t, svc.Close())
	svc2, err := telemetry.Open(ctx, st, telemetry.Options{Now: func() time.Time { return now }, MaintainEvery: -1})
	must(t, err)
	defer svc2.Close()
	latest, err = svc2.Latest(ctx, "d3")
	must(t, err)
	if latest["level"] != last {
		t.Errorf("Latest(d3) after reopen = %v, want %v", latest, last)
	}
}

// testOpenHour compacts an hour piecewise while it fills: each pass merges into the hour's
// chunk and rewrites its rollups, and every query sees each point exactly once throughout.
func testOpenHour(t *testing.T, st telemetry.Store) {
	ctx := context.Background()
	var now atomic.Int64
	svc, err := telemetry.Open(ctx, st, telemetry.Options{Now: func() time.Time { return time.UnixMilli(now.Load()) },
		MaintainEvery: -1, CompactDelay: time.Minute, CompactStep: 10 * time.Minute})
	must(t, err)
	defer svc.Close()
	passes := 0
	for m := int64(0); m < 60; m++ {
		now.Store(t0 + m*min + 30_000)
		must(t, svc.Append(ctx, []telemetry.Reading{rd("d", "level", t0+m*min, float64(m))}))
		if m%7 == 6 {
			before := svc.Stats().Compacted
			must(t, svc.Compact(ctx))
			if svc.Stats().Compacted > before {
				passes++
			}
		}
		from, to := time.UnixMilli(t0), time.UnixMilli(t0+hour)
		for _, c := range []struct {
			step time.Duration
			agg  string
			want float64
		}{
			{time.Hour, telemetry.AggCount, float64(m + 1)},
			{time.Hour, telemetry.AggSum, float64(m * (m + 1) / 2)},
			{time.Hour, telemetry.AggLast, float64(m)},
			{time.Hour, telemetry.AggMin, 0},
			{time.Minute, telemetry.AggCount, 1},
		} {
			pts, err := svc.Query(ctx, telemetry.Query{DeviceID: "d", Measurement: "level", From: from, To: to, Step: c.step, Agg: c.agg})
			must(t, err)
			got := pts[len(pts)-1].Value
			if c.step == time.Minute && len(pts) != int(m+1) {
				t.Fatalf("minute %d: %d minute buckets, want %d", m, len(pts), m+1)
			}
			if got != c.want {
				t.Fatalf("minute %d: %v %s = %v, want %v", m, c.step, c.agg, got, c.want)
			}
		}
		pts, err := svc.Query(ctx, telemetry.Query{DeviceID: "d", Measurement: "level", From: from, To: to})
		must(t, err)
		if len(pts) != int(m+1) || pts[m].Value != float64(m) {
			t.Fatalf("minute %d: raw path %d points", m, len(pts))
		}
	}
	if passes < 4 {
		t.Fatalf("only %d compaction passes moved points; the open hour was not compacted piecewise", passes)
	}
}

func bruteForce(all map[string][]telemetry.Point, devs []string, from, to, step int64, agg string) []telemetry.Point {
	from -= from % step
	if to%step != 0 {
		to = to - to%step + step
	}
	type acc struct {
		n                  int64
		min, max, sum, lst float64
		lts                int64
	}
	m := map[int64]*acc{}
	for _, d := range devs {
		for _, p := range all[d] {
			if p.TS < from || p.TS >= to {
				continue
			}
			b := p.TS - p.TS%step
			a := m[b]
			if a == nil {
				a = &acc{min: math.Inf(1), max: math.Inf(-1)}
				m[b] = a
			}
			a.n++
			a.sum += p.Value
			a.min = math.Min(a.min, p.Value)
			a.max = math.Max(a.max, p.Value)
			if p.TS > a.lts {
				a.lts, a.lst = p.TS, p.Value
			}
		}
	}
	var out []telemetry.Point
	for b, a := range m {
		v := map[string]float64{"avg": a.sum / float64(a.n), "min": a.min, "max": a.max, "sum": a.sum, "count": float64(a.n), "last": a.lst}[agg]
		out = append(out, telemetry.Point{TS: b, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TS < out[j].TS })
	return out
}

func closeEnough(a, b []telemetry.Point) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].TS != b[i].TS || math.Abs(a[i].Value-b[i].Value) > 1e-9*math.Max(1, math.Abs(b[i].Value)) {
			return false
		}
	}
	return true
}
