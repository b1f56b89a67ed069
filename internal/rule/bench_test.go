package rule

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// benchSetup builds an engine with nRules rules over 10 profiles and 20 streets and a
// stream of device messages over nDevices devices.
func benchSetup(b *testing.B, nRules, nDevices int) (*Engine, [][]Reading) {
	return benchSetupRange(b, nRules, nDevices, 100)
}

// benchSetupRange draws measurement values uniformly from [0, span): with span 100 about
// one reading in ten crosses a threshold (many transitions), with span 80 almost none.
func benchSetupRange(b *testing.B, nRules, nDevices int, span float64) (*Engine, [][]Reading) {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	profiles := make([]string, 10)
	measures := map[string][]string{}
	for i := range profiles {
		profiles[i] = fmt.Sprintf("p%d", i)
		measures[profiles[i]] = []string{"m0", "m1", "m2", "battery"}
	}
	catalog := func(p string) (ProfileInfo, bool) {
		m, ok := measures[p]
		return ProfileInfo{Measurements: m}, ok
	}
	devices := map[string]DeviceInfo{}
	ids := make([]string, nDevices)
	for i := range nDevices {
		id := fmt.Sprintf("dev-%05d", i)
		ids[i] = id
		devices[id] = DeviceInfo{ID: id, Profile: profiles[i%len(profiles)], Area: fmt.Sprintf("D1/S%02d/C%d/G%d", i%20, i%7, i%5)}
	}
	e := NewEngine(Config{Lookup: func(id string) (DeviceInfo, bool) { d, ok := devices[id]; return d, ok }, Catalog: catalog})
	rules := make([]Rule, nRules)
	for i := range rules {
		r := Rule{ID: fmt.Sprintf("r%04d", i), Name: "bench", Profile: profiles[i%len(profiles)], Severity: SeverityWarning, Enabled: true}
		if i%10 != 0 {
			r.AreaScope = []string{fmt.Sprintf("D1/S%02d", (i/10)%20)}
		}
		m := fmt.Sprintf("m%d", i%3)
		switch i % 10 {
		case 0, 1, 2, 3:
			r.Condition = fmt.Sprintf("%s > %d", m, 90+i%10)
			r.For = Duration(time.Minute)
		case 4, 5:
			r.Condition = fmt.Sprintf("%s > 80 && battery < 20", m)
		case 6, 7:
			r.Kind, r.Condition = KindWindow, fmt.Sprintf(`avg("%s", "15m") > 95`, m)
		case 8:
			r.Kind, r.Condition = KindRate, fmt.Sprintf(`delta("%s", "10m") > 30`, m)
		case 9:
			r.Condition = fmt.Sprintf("abs(%s - 50) > 45 || battery < 5", m)
		}
		rules[i] = r
	}
	if _, errs := e.Load(rules); len(errs) > 0 {
		b.Fatal(errs)
	}
	// Each message: one device, its three measurements and battery at one time, one
	// message per device per 30 s of simulated time.
	msgs := make([][]Reading, 0, 4*nDevices)
	t := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC).UnixMilli()
	for round := 0; round < 4; round++ {
		for _, id := range ids {
			ts := t + int64(round)*30000
			msg := []Reading{
				{DeviceID: id, Measurement: "m0", TS: ts, Value: rng.Float64() * span},
				{DeviceID: id, Measurement: "m1", TS: ts, Value: rng.Float64() * span},
				{DeviceID: id, Measurement: "m2", TS: ts, Value: rng.Float64() * span},
				{DeviceID: id, Measurement: "battery", TS: ts, Value: 20 + rng.Float64()*80},
			}
			msgs = append(msgs, msg)
		}
	}
	return e, msgs
}

// BenchmarkEngineReadings measures readings/s through the engine with 1,000 rules over
// 10 profiles and 20 streets, 10,000 devices sending 4-measurement messages whose values
// cross thresholds often (a storm: many alert transitions).
func BenchmarkEngineReadings(b *testing.B) {
	benchReadings(b, 100)
}

// BenchmarkEngineReadingsQuiet is the same load on a quiet day: values stay below the
// thresholds, so nearly every evaluation ends without a transition.
func BenchmarkEngineReadingsQuiet(b *testing.B) {
	benchReadings(b, 80)
}

func benchReadings(b *testing.B, span float64) {
	e, msgs := benchSetupRange(b, 1000, 10000, span)
	// warm up: every device seen, windows filled a little
	for _, m := range msgs {
		e.Readings(m)
	}
	shift := int64(0)
	b.ReportAllocs()
	b.ResetTimer()
	readings := 0
	for i := 0; b.Loop(); i++ {
		m := msgs[i%len(msgs)]
		if i%len(msgs) == 0 {
			shift += 120000 // move time forward each pass so readings stay in order
		}
		batch := make([]Reading, len(m))
		for j, r := range m {
			r.TS += shift
			batch[j] = r
		}
		e.Readings(batch)
		readings += len(batch)
	}
	b.ReportMetric(float64(readings)/b.Elapsed().Seconds(), "readings/s")
	st := e.Stats()
	h := e.Health()
	var evals int64
	for _, x := range h {
		evals += x.Evals
	}
	b.ReportMetric(float64(evals)/float64(st.Readings), "evals/reading")
}

// BenchmarkSweep measures one deadline sweep over 10,000 devices and 1,000 rules.
func BenchmarkSweep(b *testing.B) {
	e, msgs := benchSetup(b, 1000, 10000)
	for _, m := range msgs {
		e.Readings(m)
	}
	now := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	for b.Loop() {
		e.Sweep(now)
	}
}
