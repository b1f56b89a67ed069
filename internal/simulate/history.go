package simulate

import (
	"slices"
	"time"
)

// Reading is one simulated measurement of a device, for backfilling history.
type Reading struct {
	DeviceID    string
	Measurement string
	TS          int64 // epoch milliseconds
	Value       float64
}

// History returns what the devices planned by cfg whose profile is one of profiles would
// have reported every step over [from, to): their daily cycles and noise, without the
// scenario (the storm, leaks and failures happen during the run) and without faulty values.
// Timestamps are multiples of step, so the same arguments give the same readings and a
// store that keeps the first value per (device, measurement, ts) can take them twice.
// Boolean values are left out.
func History(cfg Config, profiles []string, from, to time.Time, step time.Duration) []Reading {
	if step <= 0 || !from.Before(to) {
		return nil
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "sim"
	}
	w := World{Start: to} // the run starts at to: no storm before it
	w.defaults()
	first := from.Truncate(step)
	if first.Before(from) {
		first = first.Add(step)
	}
	var out []Reading
	for _, d := range plan(cfg) {
		if !slices.Contains(profiles, d.in.Profile) {
			continue
		}
		m := newModel(d.in.ID, d.in.Profile, d.seed, FaultNone, false)
		for t := first; t.Before(to); t = t.Add(step) {
			vals, _ := m.next(&w, t)
			for k, v := range vals {
				if f, ok := v.(float64); ok {
					out = append(out, Reading{DeviceID: d.in.ID, Measurement: k, TS: t.UnixMilli(), Value: f})
				}
			}
		}
	}
	return out
}
