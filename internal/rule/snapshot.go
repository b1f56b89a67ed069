package rule

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/citybrain/citybrain"
)

// snapshotVersion is bumped when the snapshot layout changes; older snapshots are refused.
const snapshotVersion = 1

// MaxSnapshotBytes bounds what Restore accepts.
const MaxSnapshotBytes = 512 << 20

type snapshot struct {
	Version int          `json:"version"`
	Devices []snapDevice `json:"devices"`
	Groups  []snapGroup  `json:"groups,omitempty"`
}

type snapGroup struct {
	Rule      string    `json:"rule"`
	Household string    `json:"household"`
	Device    string    `json:"device"`
	Area      string    `json:"area"`
	State     snapState `json:"state"`
}

type snapDevice struct {
	ID       string               `json:"id"`
	Online   bool                 `json:"online"`
	LastSeen int64                `json:"last_seen"`
	Latest   map[string]point     `json:"latest,omitempty"`
	Series   map[string][]point   `json:"series,omitempty"`
	Rules    map[string]snapState `json:"rules,omitempty"`
}

type snapState struct {
	FP      string  `json:"fp"`
	State   State   `json:"state"`
	Since   int64   `json:"since"`
	FiredAt int64   `json:"fired_at,omitempty"`
	Value   float64 `json:"value,omitempty"`
}

// Snapshot serialises the evaluation state (latest values, window buffers, per-rule
// states) so it can be persisted and restored after a restart.
func (e *Engine) Snapshot() ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := snapshot{Version: snapshotVersion, Devices: make([]snapDevice, 0, len(e.devices))}
	for id, ds := range e.devices {
		d := snapDevice{ID: id, Online: ds.online, LastSeen: ds.lastSeen, Latest: ds.latest}
		if len(ds.series) > 0 {
			d.Series = map[string][]point{}
			for m, r := range ds.series {
				d.Series[m] = r.points()
			}
		}
		if len(ds.rules) > 0 {
			d.Rules = map[string]snapState{}
			for rid, st := range ds.rules {
				d.Rules[rid] = snapState{FP: st.fp, State: st.State, Since: st.Since, FiredAt: st.FiredAt, Value: st.Value}
			}
		}
		s.Devices = append(s.Devices, d)
	}
	sort.Slice(s.Devices, func(i, j int) bool { return s.Devices[i].ID < s.Devices[j].ID })
	for _, g := range e.groups {
		s.Groups = append(s.Groups, snapGroup{Rule: g.rule, Household: g.household, Device: g.device, Area: g.area,
			State: snapState{FP: g.st.fp, State: g.st.State, Since: g.st.Since, FiredAt: g.st.FiredAt, Value: g.st.Value}})
	}
	sort.Slice(s.Groups, func(i, j int) bool {
		return groupKey(s.Groups[i].Rule, s.Groups[i].Household) < groupKey(s.Groups[j].Rule, s.Groups[j].Household)
	})
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("rule snapshot: %w", err)
	}
	return b, nil
}

// Restore loads a snapshot taken by Snapshot into an engine that already holds its rules.
// Devices the lookup no longer knows and states of rules that changed since are dropped;
// buffers are trimmed to the current limits. Restore replaces all device state.
func (e *Engine) Restore(b []byte) error {
	if len(b) > MaxSnapshotBytes {
		return citybrain.Errorf(citybrain.ETOOLARGE, "规则状态快照过大 / rule state snapshot too large")
	}
	var s snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return citybrain.Errorf(citybrain.EINVALID, "规则状态快照无法解析 / cannot decode rule state snapshot: %v", err)
	}
	if s.Version != snapshotVersion {
		return citybrain.Errorf(citybrain.EINVALID, "规则状态快照版本 %d 不受支持 / unsupported snapshot version %d", s.Version, s.Version)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.devices = map[string]*devState{}
	e.groups = map[string]*groupState{}
	for _, g := range s.Groups {
		c := e.rules[g.Rule]
		if c == nil || c.fp != g.State.FP || g.Household == "" {
			continue
		}
		switch g.State.State {
		case StateInactive, StateFiring:
		default:
			continue
		}
		e.groups[groupKey(g.Rule, g.Household)] = &groupState{rule: g.Rule, household: g.Household, device: g.Device, area: g.Area,
			st: ruleState{State: g.State.State, Since: g.State.Since, FiredAt: g.State.FiredAt, Value: g.State.Value, fp: g.State.FP}}
	}
	for _, d := range s.Devices {
		info, ok := e.cfg.Lookup(d.ID)
		if !ok {
			continue
		}
		info.ID = d.ID
		ds := newDevState(info)
		ds.online, ds.lastSeen = d.Online, d.LastSeen
		for m, p := range d.Latest {
			ds.latest[m] = p
			ds.env[m] = p.V
		}
		e.devices[d.ID] = ds
		e.refresh(ds)
		pi := e.index[info.Profile]
		for m, pts := range d.Series {
			if pi == nil {
				break
			}
			keep, ok := pi.keep[m]
			if !ok {
				continue
			}
			r := newRing(keep, e.cfg.MaxPoints)
			for _, p := range pts {
				r.push(p)
			}
			ds.series[m] = r
		}
		for rid, st := range d.Rules {
			c := e.rules[rid]
			if c == nil || c.fp != st.FP {
				continue
			}
			switch st.State {
			case StateInactive, StatePending, StateFiring:
			default:
				continue
			}
			ds.rules[rid] = &ruleState{State: st.State, Since: st.Since, FiredAt: st.FiredAt, Value: st.Value, fp: st.FP}
		}
	}
	return nil
}
