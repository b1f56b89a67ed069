package telemetry_test

import (
	"testing"

	"github.com/citybrain/citybrain/internal/telemetry"
	"github.com/citybrain/citybrain/internal/telemetry/telemetrytest"
)

func TestMemStoreConformance(t *testing.T) {
	telemetrytest.Run(t, func(t *testing.T) telemetry.Store { return telemetry.NewMemStore() })
}
