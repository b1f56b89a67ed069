package audit

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// BenchmarkRecord measures append throughput through the Log (queue, group commit, hashing)
// with many concurrent callers on the in-memory store.
//
//	go test -run=^$ -bench=BenchmarkRecord -benchtime=200000x ./internal/audit/
func BenchmarkRecord(b *testing.B) {
	s, k := NewMemStore(), testKeys(b)
	l, err := Open(context.Background(), Config{Store: s, Keys: k, CheckpointInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close(context.Background())
	e := sampleEntry(1)
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := l.Record(ctx, e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/record")
}

// buildMemLog fills a MemStore with n sample entries (batches of 1024, one checkpoint at the
// end) without the queue, for verification benchmarks.
func buildMemLog(tb testing.TB, n int) (*MemStore, Keys) {
	s, k := NewMemStore(), testKeys(tb)
	var fr frontier
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]Record, 0, 1024)
	for i := 0; i < n; i++ {
		e := sampleEntry(i)
		e.Seq, e.Time = int64(i), t0.Add(time.Duration(i)*time.Millisecond)
		if err := e.normalize(); err != nil {
			tb.Fatal(err)
		}
		data := e.AppendCanonical(nil)
		hs, err := fr.add(tlog.RecordHash(data))
		if err != nil {
			tb.Fatal(err)
		}
		batch = append(batch, Record{Seq: e.Seq, Data: data, Hashes: hs}) // no Entry: keeps memory down
		if len(batch) == cap(batch) || i == n-1 {
			if err := s.AppendAudit(context.Background(), batch); err != nil {
				tb.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	root, _ := fr.root()
	c, err := SignCheckpoint(k.Signer, tlog.Tree{N: int64(n), Hash: root}, t0)
	if err != nil {
		tb.Fatal(err)
	}
	s.AddAuditCheckpoint(context.Background(), c)
	return s, k
}

// BenchmarkVerify measures a full verification of a 1,000,000-entry log in memory (goal: < 10 s).
//
//	go test -run=^$ -bench=BenchmarkVerify -benchtime=1x ./internal/audit/
func BenchmarkVerify(b *testing.B) {
	for _, n := range []int{1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s, k := buildMemLog(b, n)
			cpu0 := cpuTime()
			b.ResetTimer()
			for range b.N {
				rep, err := Verify(context.Background(), s, VerifyOptions{Verifier: k.Verifier})
				if err != nil || rep.Size != int64(n) {
					b.Fatalf("%v %+v", err, rep)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "verify-cpu-s")
		})
	}
}

// cpuTime is the user+system CPU time of this process: on a shared machine wall time includes
// waiting for a core, CPU time says what the work itself costs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
