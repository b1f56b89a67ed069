package telemetry

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"
)

// The benchmarks use MemStore; internal/store runs the same shapes on SQLite.

func BenchmarkEncodeChunk(b *testing.B) {
	pts := sensorKinds()[0].gen(rand.New(rand.NewPCG(1, 1)), t0, 60)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeChunk(pts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/60, "ns/point")
}

func BenchmarkDecodeChunk(b *testing.B) {
	pts := sensorKinds()[0].gen(rand.New(rand.NewPCG(1, 1)), t0, 60)
	data, _ := EncodeChunk(pts)
	b.ReportAllocs()
	for b.Loop() {
		it := NewChunkIterator(data)
		for it.Next() {
		}
		if it.Err() != nil {
			b.Fatal(it.Err())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/60, "ns/point")
}

// BenchmarkAppend measures group-committed appends from concurrent callers, each call a
// batch of readings, reported as points/s.
func BenchmarkAppend(b *testing.B) {
	for _, batch := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s, err := Open(context.Background(), NewMemStore(), Options{MaintainEvery: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var seq atomic.Int64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				dev := fmt.Sprintf("dev-%d", seq.Add(1))
				rs := make([]Reading, batch)
				ts := t0
				for pb.Next() {
					for i := range rs {
						ts++
						rs[i] = Reading{dev, "level_cm", ts, float64(ts % 1000)}
					}
					if err := s.Append(context.Background(), rs); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "points/s")
		})
	}
}

// BenchmarkQueryDay queries one day of one-minute data of one series, compacted, as raw
// points (step 0) and in one-minute and one-hour steps.
func BenchmarkQueryDay(b *testing.B) {
	ctx := context.Background()
	now := time.UnixMilli(t0 + 25*hourMs)
	s, err := Open(ctx, NewMemStore(), Options{Now: func() time.Time { return now }, MaintainEvery: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	pts := sensorKinds()[0].gen(rand.New(rand.NewPCG(1, 1)), t0, 1440)
	rs := make([]Reading, len(pts))
	for i, p := range pts {
		rs[i] = Reading{"d", "level_cm", p.TS, p.Value}
	}
	if err := s.Append(ctx, rs); err != nil {
		b.Fatal(err)
	}
	if err := s.Compact(ctx); err != nil {
		b.Fatal(err)
	}
	for _, step := range []time.Duration{0, time.Minute, time.Hour} {
		b.Run("step="+step.String(), func(b *testing.B) {
			q := Query{DeviceID: "d", Measurement: "level_cm", From: time.UnixMilli(t0), To: time.UnixMilli(t0 + 24*hourMs), Step: step}
			if step > 0 {
				q.Agg = AggAvg
			}
			for b.Loop() {
				out, err := s.Query(ctx, q)
				if err != nil || len(out) == 0 {
					b.Fatal(len(out), err)
				}
			}
		})
	}
}

// BenchmarkQueryGroupStreets averages one measurement per street over 10,000 devices
// (100 streets) and 24 hours in hourly steps, from hour rollups.
func BenchmarkQueryGroupStreets(b *testing.B) {
	ctx := context.Background()
	st := NewMemStore()
	groups := map[string][]string{}
	var cs []Compaction
	for d := 0; d < 10_000; d++ {
		dev := fmt.Sprintf("aq-%05d", d)
		street := fmt.Sprintf("street-%03d", d%100)
		groups[street] = append(groups[street], dev)
		for h := int64(0); h < 24; h++ {
			hs := t0 + h*hourMs
			c, err := buildCompaction(SeriesKey{dev, "pm25"}, hs, []Point{{hs + 1000, float64(d % 50)}, {hs + 1801_000, float64(h)}})
			if err != nil {
				b.Fatal(err)
			}
			cs = append(cs, c)
		}
	}
	if err := st.ApplyCompactions(ctx, cs); err != nil {
		b.Fatal(err)
	}
	s, err := Open(ctx, st, Options{MaintainEvery: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	q := GroupQuery{Groups: groups, Measurement: "pm25", From: time.UnixMilli(t0), To: time.UnixMilli(t0 + 24*hourMs), Step: time.Hour, Agg: AggAvg}
	for b.Loop() {
		out, err := s.QueryGroup(ctx, q)
		if err != nil || len(out) != 100 || len(out["street-007"]) != 24 {
			b.Fatal(len(out), err)
		}
	}
}

// BenchmarkDecodeRollupBlock decodes a day block of 24 hour rollups (60 points each).
func BenchmarkDecodeRollupBlock(b *testing.B) {
	day := t0 - t0%(24*hourMs)
	var rs []Rollup
	for h := int64(0); h < 24; h++ {
		rs = append(rs, Rollup{Bucket: day + h*hourMs, Count: 60, Min: 12.1, Max: 80.4, Sum: 60 * 35.5, Last: float64(h), LastTS: day + h*hourMs + 3_590_000})
	}
	data, err := EncodeRollupBlock(ResHour, day, rs)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if err := DecodeRollupBlock(ResHour, day, data, func(Rollup) { n++ }); err != nil || n != 24 {
			b.Fatal(n, err)
		}
	}
}
