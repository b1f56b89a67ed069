package store_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/citybrain/citybrain/internal/store/storetest"
	"github.com/citybrain/citybrain/internal/telemetry"
)

// Telemetry benchmarks on SQLite (the embedded default). Figures go to docs/performance.md:
//
//	go test -run '^$' -bench Telemetry -benchtime 3s ./internal/store/

const benchT0 = int64(1795824000000) // 2026-11-28T00:00:00Z

// telemetryCPU returns the process's user+system CPU time. The machine is shared, so wall time
// per op includes waiting for a core; cpu-ms/op says what the operation itself costs.
func telemetryCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchLoop runs fn b.N times and reports cpu-ms/op beside the wall time.
func benchLoop(b *testing.B, fn func()) {
	b.Helper()
	start := telemetryCPU()
	for b.Loop() {
		fn()
	}
	b.ReportMetric(float64(telemetryCPU()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

func openBenchService(b *testing.B, st telemetry.Store, now int64) *telemetry.Service {
	b.Helper()
	svc, err := telemetry.Open(context.Background(), st, telemetry.Options{Now: func() time.Time { return time.UnixMilli(now) }, MaintainEvery: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { svc.Close() })
	return svc
}

// BenchmarkTelemetryQueryDay: one day of one-minute water-level data (0.1 cm, jittered
// timestamps) of one device among 200, compacted into chunks and rollups; the query reads
// the whole day as raw points (step 0), in one-minute steps and in one-hour steps.
func BenchmarkTelemetryQueryDay(b *testing.B) {
	ctx := context.Background()
	db := storetest.SQLite(b)
	svc := openBenchService(b, db, benchT0+25*3600_000)
	r := rand.New(rand.NewPCG(1, 2))
	for d := 0; d < 200; d++ {
		rs := make([]telemetry.Reading, 0, 1440)
		for i := int64(0); i < 1440; i++ {
			ts := benchT0 + i*60_000 + int64(r.NormFloat64()*150)
			v := math.Round((120+15*math.Sin(2*math.Pi*float64(i)/1440)+r.NormFloat64()*0.4)*10) / 10
			rs = append(rs, telemetry.Reading{DeviceID: fmt.Sprintf("wl-%04d", d), Measurement: "level_cm", TS: ts, Value: v})
		}
		if err := svc.Append(ctx, rs); err != nil {
			b.Fatal(err)
		}
	}
	if err := svc.Compact(ctx); err != nil {
		b.Fatal(err)
	}
	for _, step := range []time.Duration{0, time.Minute, time.Hour} {
		b.Run("step="+step.String(), func(b *testing.B) {
			q := telemetry.Query{DeviceID: "wl-0107", Measurement: "level_cm", From: time.UnixMilli(benchT0), To: time.UnixMilli(benchT0 + 24*3600_000), Step: step}
			if step > 0 {
				q.Agg = telemetry.AggAvg
			}
			benchLoop(b, func() {
				pts, err := svc.Query(ctx, q)
				if err != nil || len(pts) < 24 {
					b.Fatal(len(pts), err)
				}
			})
		})
	}
}

// BenchmarkTelemetryGroupStreets: average PM2.5 per street (100 streets) over 10,000
// devices and 24 hours in hourly steps, from the hour rollups. "closed-day" has every hour
// compacted; "open-hour" ends in the current hour, partly compacted, partly raw.
func BenchmarkTelemetryGroupStreets(b *testing.B) {
	ctx := context.Background()
	db := storetest.SQLite(b)
	groups := map[string][]string{}
	const devices = 10_000
	var cs []telemetry.Compaction
	flush := func() {
		if err := db.ApplyCompactions(ctx, cs); err != nil {
			b.Fatal(err)
		}
		cs = cs[:0]
	}
	for d := 0; d < devices; d++ {
		dev := fmt.Sprintf("aq-%05d", d)
		street := fmt.Sprintf("street-%03d", d%100)
		groups[street] = append(groups[street], dev)
		for h := int64(0); h < 24; h++ {
			hs := benchT0 + h*3600_000
			pts := []telemetry.Point{{TS: hs + 1000, Value: float64(d % 50)}, {TS: hs + 1_801_000, Value: float64(h)}}
			data, _ := telemetry.EncodeChunk(pts)
			roll := telemetry.Rollup{DeviceID: dev, Measurement: "pm25", Bucket: hs, Count: 60, Min: 1, Max: 80, Sum: 60 * 35, Last: float64(h), LastTS: hs + 3_590_000}
			cs = append(cs, telemetry.Compaction{Key: telemetry.SeriesKey{DeviceID: dev, Measurement: "pm25"}, HourStart: hs,
				Chunk: telemetry.Chunk{DeviceID: dev, Measurement: "pm25", StartTS: pts[0].TS, EndTS: pts[1].TS, Count: 2, Data: data},
				Hour:  roll})
		}
		if len(cs) >= 24_000 {
			flush()
		}
	}
	flush()
	svc := openBenchService(b, db, benchT0+24*3600_000+38*60_000+30_000)
	run := func(b *testing.B, from, to int64, agg string) {
		q := telemetry.GroupQuery{Groups: groups, Measurement: "pm25", From: time.UnixMilli(from), To: time.UnixMilli(to), Step: time.Hour, Agg: agg}
		benchLoop(b, func() {
			out, err := svc.QueryGroup(ctx, q)
			if err != nil || len(out) != 100 || len(out["street-042"]) < 24 {
				b.Fatal(len(out), len(out["street-042"]), err)
			}
		})
	}
	b.Run("closed-day/avg", func(b *testing.B) { run(b, benchT0, benchT0+24*3600_000, telemetry.AggAvg) })
	b.Run("closed-day/last", func(b *testing.B) { run(b, benchT0, benchT0+24*3600_000, telemetry.AggLast) })
	// The current hour in a typical state: 38 one-minute points per device, of which the
	// compactor (5-minute steps, 1-minute delay; the raw window is 1 to 6 minutes) has moved
	// the first 35 into the hour's chunk and rollups; 3 minutes (30,000 points) are raw.
	hour24 := benchT0 + 24*3600_000
	for d := 0; d < devices; d++ {
		rs := make([]telemetry.Reading, 38)
		for i := range rs {
			rs[i] = telemetry.Reading{DeviceID: fmt.Sprintf("aq-%05d", d), Measurement: "pm25", TS: hour24 + int64(i)*60_000, Value: float64(i)}
		}
		if err := db.InsertRaw(ctx, rs); err != nil {
			b.Fatal(err)
		}
	}
	if err := svc.Compact(ctx); err != nil {
		b.Fatal(err)
	}
	raw, err := db.AggregateRaw(ctx, telemetry.AggRequest{Measurement: "pm25", Groups: groups, From: hour24, To: hour24 + 3600_000, Step: 3600_000})
	if err != nil || len(raw) != 100 || raw[0].Count != 300 {
		b.Fatalf("raw left after compaction: %d buckets, %v", len(raw), err)
	}
	b.Run("open-hour/avg", func(b *testing.B) { run(b, benchT0+3600_000, benchT0+25*3600_000, telemetry.AggAvg) })
}

// BenchmarkTelemetryAppend: group-committed appends on SQLite from 256 concurrent callers
// (128 × GOMAXPROCS 2, like many devices publishing at once),
// each call a batch of readings (one device message), reported as points/s durable.
func BenchmarkTelemetryAppend(b *testing.B) {
	for _, batch := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			db := storetest.SQLite(b)
			svc := openBenchService(b, db, benchT0)
			var seq atomic.Int64
			b.SetParallelism(128)
			b.ResetTimer()
			cpu0 := telemetryCPU()
			b.RunParallel(func(pb *testing.PB) {
				dev := fmt.Sprintf("dev-%05d", seq.Add(1))
				rs := make([]telemetry.Reading, batch)
				ts := benchT0
				for pb.Next() {
					for i := range rs {
						ts += 1000
						rs[i] = telemetry.Reading{DeviceID: dev, Measurement: "level_cm", TS: ts, Value: float64(ts%1000) / 10}
					}
					if err := svc.Append(context.Background(), rs); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "points/s")
			b.ReportMetric(float64(telemetryCPU()-cpu0)/float64(time.Microsecond)/float64(b.N*batch), "cpu-µs/point")
			st := svc.Stats()
			b.ReportMetric(float64(st.Appended)/math.Max(1, float64(st.Commits)), "points/commit")
		})
	}
}

// BenchmarkTelemetryStorageBytes stores one day of one-minute water-level readings (0.1 cm,
// timestamps jittered by σ = 150 ms) for 100 devices through the Service, compacts them, and
// reports the bytes per point of each tier's payload and of the telemetry tables in the
// SQLite file after VACUUM. "on-the-minute" devices report at :00 so jitter moves some
// readings into the previous minute (minute rollups then hold 0, 1 or 2 points);
// "own-schedule" devices report at :17 of each minute.
func BenchmarkTelemetryStorageBytes(b *testing.B) {
	for _, offset := range []int64{0, 17_000} {
		name := "on-the-minute"
		if offset != 0 {
			name = "own-schedule"
		}
		b.Run(name, func(b *testing.B) { benchStorage(b, offset) })
	}
}

func benchStorage(b *testing.B, offset int64) {
	for b.Loop() {
		ctx := context.Background()
		db := storetest.SQLite(b)
		svc := openBenchService(b, db, benchT0+25*3600_000)
		r := rand.New(rand.NewPCG(3, 4))
		points := 0
		for d := 0; d < 100; d++ {
			rs := make([]telemetry.Reading, 0, 1440)
			for i := int64(0); i < 1440; i++ {
				ts := benchT0 + offset + i*60_000 + int64(r.NormFloat64()*150)
				v := math.Round((120+15*math.Sin(2*math.Pi*float64(i)/1440)+r.NormFloat64()*0.4)*10) / 10
				rs = append(rs, telemetry.Reading{DeviceID: fmt.Sprintf("wl-%04d", d), Measurement: "level_cm", TS: ts, Value: v})
			}
			if err := svc.Append(ctx, rs); err != nil {
				b.Fatal(err)
			}
			points += len(rs)
		}
		if err := svc.Compact(ctx); err != nil {
			b.Fatal(err)
		}
		for _, t := range []struct{ name, q string }{
			{"chunk-B/point", `SELECT COALESCE(SUM(LENGTH(data)), 0) FROM telemetry_chunks`},
			{"minute-rollup-B/point", `SELECT COALESCE(SUM(LENGTH(data)), 0) FROM telemetry_rollup_minute`},
			{"hour-rollup-B/point", `SELECT COALESCE(SUM(LENGTH(data)), 0) FROM telemetry_rollup_hour`},
		} {
			var n int64
			if err := db.QueryRow(ctx, t.q).Scan(&n); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(n)/float64(points), t.name)
		}
		if _, err := db.Exec(ctx, `VACUUM`); err != nil {
			b.Fatal(err)
		}
		var pages, size int64
		db.QueryRow(ctx, `PRAGMA page_count`).Scan(&pages)
		db.QueryRow(ctx, `PRAGMA page_size`).Scan(&size)
		var other int64 // pages of the other subsystems' empty tables
		db.QueryRow(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'telemetry%'`).Scan(&other)
		b.ReportMetric(float64((pages-other)*size)/float64(points), "file-B/point")
	}
}

// BenchmarkTelemetryAppendFleet: appends shaped like the ingest pipeline's: 4 concurrent
// callers, each call 5,000 readings (2,500 devices × 2 measurements) of a fleet of 10,000
// devices reporting once a minute, timestamps advancing with the rounds.
func BenchmarkTelemetryAppendFleet(b *testing.B) {
	db := storetest.SQLite(b)
	svc := openBenchService(b, db, benchT0)
	const devices, perCall = 10_000, 2_500
	var round atomic.Int64
	b.SetParallelism(2) // 4 callers on 2 cores
	b.ResetTimer()
	cpu0 := telemetryCPU()
	b.RunParallel(func(pb *testing.PB) {
		rs := make([]telemetry.Reading, 0, 2*perCall)
		for pb.Next() {
			n := round.Add(1) - 1
			first := int(n%(devices/perCall)) * perCall
			ts := benchT0 + (n/(devices/perCall))*60_000
			rs = rs[:0]
			for d := first; d < first+perCall; d++ {
				dev := fmt.Sprintf("dev-%05d", d)
				t := ts + int64(d%60)*1000
				rs = append(rs, telemetry.Reading{DeviceID: dev, Measurement: "level_cm", TS: t, Value: float64(d%500) / 10},
					telemetry.Reading{DeviceID: dev, Measurement: "battery", TS: t, Value: 87})
			}
			if err := svc.Append(context.Background(), rs); err != nil {
				b.Error(err)
				return
			}
		}
	})
	points := float64(b.N * 2 * perCall)
	b.ReportMetric(points/b.Elapsed().Seconds(), "points/s")
	b.ReportMetric(float64(telemetryCPU()-cpu0)/float64(time.Microsecond)/points, "cpu-µs/point")
}
