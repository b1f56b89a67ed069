package rule

import (
	"sort"
	"time"
)

// DryRunInput is history to replay against a rule.
type DryRunInput struct {
	Readings []Reading
	Events   []Event
	Status   []StatusChange
	// From and To bound the replay; zero values take the inputs' first and last times.
	From, To time.Time
	// Step is how often deadlines are checked between inputs; default one minute.
	Step time.Duration
}

// Firing is one time the rule would have fired.
type Firing struct {
	DeviceID   string     `json:"device_id"`
	At         time.Time  `json:"at"`
	Since      time.Time  `json:"since"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	Value      float64    `json:"value"`
	Summary    string     `json:"summary"`
}

// DryRunResult says how often and when a rule would have fired.
type DryRunResult struct {
	Fired     int       `json:"fired"`
	Devices   int       `json:"devices"` // devices that fired at least once
	Firings   []Firing  `json:"firings"`
	Truncated bool      `json:"truncated,omitempty"` // more than MaxDryRunFirings
	Readings  int       `json:"readings"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
}

// MaxDryRunFirings bounds the firings listed (all are counted).
const MaxDryRunFirings = 1000

// DryRun replays history through a fresh engine holding only r (enabled) and reports
// when it would have fired. cfg supplies the device lookup and catalog.
func DryRun(r Rule, cfg Config, in DryRunInput) (DryRunResult, error) {
	r.Enabled = true
	e := NewEngine(cfg)
	if _, err := e.Upsert(r); err != nil {
		return DryRunResult{}, err
	}
	return dryRunOn(e, in)
}

// dryRunOn replays in through e, which holds the one rule to try.
func dryRunOn(e *Engine, in DryRunInput) (DryRunResult, error) {
	type item struct {
		ts   int64
		kind int // 0 status, 1 event, 2 reading
		i    int
	}
	items := make([]item, 0, len(in.Readings)+len(in.Events)+len(in.Status))
	for i, x := range in.Status {
		items = append(items, item{x.TS, 0, i})
	}
	for i, x := range in.Events {
		items = append(items, item{x.TS, 1, i})
	}
	for i, x := range in.Readings {
		items = append(items, item{x.TS, 2, i})
	}
	sort.SliceStable(items, func(a, b int) bool { return items[a].ts < items[b].ts })
	step := in.Step
	if step <= 0 {
		step = time.Minute
	}
	res := DryRunResult{Readings: len(in.Readings), From: in.From, To: in.To}
	if res.From.IsZero() && len(items) > 0 {
		res.From = time.UnixMilli(items[0].ts)
	}
	if res.To.IsZero() && len(items) > 0 {
		res.To = time.UnixMilli(items[len(items)-1].ts)
	}
	open := map[string]int{} // device -> index in Firings
	fired := map[string]bool{}
	record := func(sigs []Signal) {
		for _, s := range sigs {
			switch s.State {
			case StateFiring:
				if _, ok := open[s.DeviceID]; ok && s.Kind != KindEvent {
					continue
				}
				res.Fired++
				fired[s.DeviceID] = true
				if len(res.Firings) >= MaxDryRunFirings {
					res.Truncated = true
					continue
				}
				open[s.DeviceID] = len(res.Firings)
				res.Firings = append(res.Firings, Firing{DeviceID: s.DeviceID, At: s.At, Since: s.Since, Value: s.Value, Summary: s.Summary})
			case StateInactive:
				if i, ok := open[s.DeviceID]; ok {
					at := s.At
					res.Firings[i].ResolvedAt = &at
					delete(open, s.DeviceID)
				}
			}
		}
	}
	next := res.From.Truncate(step).Add(step)
	sweepUntil := func(ts time.Time) {
		for !next.After(ts) {
			record(e.Sweep(next))
			next = next.Add(step)
		}
	}
	for _, it := range items {
		t := time.UnixMilli(it.ts)
		if t.Before(res.From) || t.After(res.To) {
			continue
		}
		sweepUntil(t)
		switch it.kind {
		case 0:
			record(e.Status(in.Status[it.i]))
		case 1:
			record(e.Event(in.Events[it.i]))
		case 2:
			record(e.Readings(in.Readings[it.i : it.i+1]))
		}
	}
	sweepUntil(res.To)
	record(e.Sweep(res.To))
	res.Devices = len(fired)
	return res, nil
}
