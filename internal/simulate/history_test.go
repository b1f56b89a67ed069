package simulate

import (
	"testing"
	"time"
)

// History gives a day of plausible, repeatable readings on whole steps for the chosen
// profiles only.
func TestHistory(t *testing.T) {
	cfg := Config{Devices: 300, Seed: 1}
	to := time.Date(2026, 7, 20, 2, 7, 13, 0, time.UTC)
	from := to.Add(-24 * time.Hour)
	a := History(cfg, []string{"drain_level", "air_quality"}, from, to, 10*time.Minute)
	b := History(cfg, []string{"drain_level", "air_quality"}, from, to, 10*time.Minute)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("history: %d then %d readings", len(a), len(b))
	}
	seen := map[string]float64{}
	for _, r := range a {
		seen[r.DeviceID+"|"+r.Measurement+"|"+time.UnixMilli(r.TS).String()] = r.Value
		if r.TS%(10*60*1000) != 0 || r.TS < from.UnixMilli() || r.TS >= to.UnixMilli() {
			t.Fatalf("reading off the grid or out of range: %+v", r)
		}
		switch r.Measurement {
		case "level_cm":
			if r.Value < 0 || r.Value > 40 { // no storm in the history
				t.Fatalf("level outside dry-weather range: %+v", r)
			}
		case "pm25":
			if r.Value < 1 || r.Value > 200 {
				t.Fatalf("pm25 implausible: %+v", r)
			}
		}
	}
	for _, r := range b {
		if v, ok := seen[r.DeviceID+"|"+r.Measurement+"|"+time.UnixMilli(r.TS).String()]; !ok || v != r.Value {
			t.Fatalf("history not repeatable at %+v", r)
		}
	}
	if len(History(cfg, []string{"no_such_profile"}, from, to, time.Hour)) != 0 {
		t.Fatal("readings for an unknown profile")
	}
}
