package ingest

import (
	"context"
	"fmt"
	"testing"

	"github.com/citybrain/citybrain/internal/store/storetest"
	"github.com/citybrain/citybrain/internal/telemetry"
)

// BenchmarkMQTTIngestSQLite is BenchmarkMQTTIngest with the real telemetry service on SQLite:
// the end-to-end figure inside one process.
// Run: go test -run=^$ -bench=MQTTIngestSQLite -benchtime=100000x ./internal/ingest/
func BenchmarkMQTTIngestSQLite(b *testing.B) {
	for _, shards := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			db := storetest.SQLite(b)
			svc, err := telemetry.Open(context.Background(), db, telemetry.Options{MaintainEvery: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer svc.Close()
			benchIngest(b, svc, PipelineConfig{Shards: shards})
		})
	}
}
