package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/citybrain/citybrain/internal/audit"
	"github.com/citybrain/citybrain/internal/store/storetest"
)

// BenchmarkAuditAppendSQLite measures audit append throughput on SQLite (WAL, synchronous=NORMAL)
// with 32 concurrent callers per core sharing group commits.
//
//	go test -run=^$ -bench=BenchmarkAuditAppendSQLite -benchtime=100000x ./internal/store/
func BenchmarkAuditAppendSQLite(b *testing.B) {
	db := storetest.SQLite(b)
	k, _, err := audit.GenerateKeys(nil, "bench")
	if err != nil {
		b.Fatal(err)
	}
	l, err := audit.Open(context.Background(), audit.Config{Store: db, Keys: k, CheckpointInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close(context.Background())
	e := auditEntry(1)
	b.SetParallelism(32)
	b.ResetTimer()
	start, cpu0 := time.Now(), auditCPUTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Record(context.Background(), e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	b.ReportMetric(float64((auditCPUTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/record")
}

// BenchmarkAuditVerifySQLite builds a 1,000,000-entry audit log in SQLite through the Log (512
// concurrent writers) and measures one full Verify of it (goal: under 10 s).
//
//	go test -run=^$ -bench=BenchmarkAuditVerifySQLite -benchtime=1x -timeout=30m ./internal/store/
func BenchmarkAuditVerifySQLite(b *testing.B) {
	const n = 1_000_000
	ctx := context.Background()
	db := storetest.SQLite(b)
	k, _, err := audit.GenerateKeys(nil, "bench")
	if err != nil {
		b.Fatal(err)
	}
	l, err := audit.Open(ctx, audit.Config{Store: db, Keys: k, CheckpointInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	buildStart := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 512 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= n {
					return
				}
				if _, err := l.Record(ctx, auditEntry(int(i))); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := l.Close(ctx); err != nil {
		b.Fatal(err)
	}
	build := time.Since(buildStart)
	cpu0 := auditCPUTime()
	b.ResetTimer()
	for range b.N {
		rep, err := audit.Verify(ctx, db, audit.VerifyOptions{Verifier: k.Verifier, Chunk: 10000})
		if err != nil || rep.Size != n {
			b.Fatalf("%v %+v", err, rep)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/build.Seconds(), "append-records/s")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "verify-s")
	// CPU seconds are less sensitive than wall time to other load on a shared machine.
	b.ReportMetric((auditCPUTime()-cpu0).Seconds()/float64(b.N), "verify-cpu-s")
}

// auditCPUTime is the user+system CPU time used by this process so far.
func auditCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
