package store_test

import (
	"os"
	"testing"

	"github.com/citybrain/citybrain/internal/store/storetest"
	"github.com/citybrain/citybrain/internal/telemetry"
	"github.com/citybrain/citybrain/internal/telemetry/telemetrytest"
)

// TestTelemetryConformance runs the telemetry Store suite on a fresh database per case.
func TestTelemetryConformance(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		telemetrytest.Run(t, func(t *testing.T) telemetry.Store { return storetest.SQLite(t) })
	})
	if os.Getenv(storetest.EnvPostgres) != "" {
		t.Run("postgres", func(t *testing.T) {
			telemetrytest.Run(t, func(t *testing.T) telemetry.Store { return storetest.Postgres(t) })
		})
	}
}
