package device

import (
	"sort"
	"time"
)

// HealthRow is one line of device health figures, for an area, a profile, or both.
type HealthRow struct {
	Area       string  `json:"area,omitempty"`
	Profile    string  `json:"profile,omitempty"`
	Registered int     `json:"registered"` // enabled devices
	Online     int     `json:"online"`
	OnlineRate float64 `json:"online_rate"` // Online / Registered, 0 when none
	Silent     int     `json:"silent"`
	Offline    int     `json:"offline"`
	NeverSeen  int     `json:"never_seen"`
	LowBattery int     `json:"low_battery"` // battery ≤ LowBattery %
	Disabled   int     `json:"disabled"`
}

// Health is the device health report: totals, per area, per profile and per area×profile.
type Health struct {
	At            time.Time   `json:"at"`
	Total         HealthRow   `json:"total"`
	ByArea        []HealthRow `json:"by_area"`
	ByProfile     []HealthRow `json:"by_profile"`
	ByAreaProfile []HealthRow `json:"by_area_profile"`
	SilenceFactor float64     `json:"silence_factor"`
	LowBatteryAt  float64     `json:"low_battery_at"`
}

func (r *HealthRow) add(st Status) {
	if st.State == StateDisabled {
		r.Disabled++
		return
	}
	r.Registered++
	switch st.State {
	case StateOnline:
		r.Online++
	case StateSilent:
		r.Silent++
	case StateOffline:
		r.Offline++
	case StateNeverSeen:
		r.NeverSeen++
	}
	if st.Battery != nil && *st.Battery <= LowBattery {
		r.LowBattery++
	}
}

func (r *HealthRow) finish() {
	if r.Registered > 0 {
		r.OnlineRate = float64(r.Online) / float64(r.Registered)
	}
}

// ComputeHealth computes the health figures of devices from their live status at now.
func ComputeHealth(devices []Device, st *StatusTracker, now time.Time) Health {
	h := Health{At: now.UTC(), SilenceFactor: SilenceFactor, LowBatteryAt: LowBattery}
	byArea := map[string]*HealthRow{}
	byProf := map[string]*HealthRow{}
	type ap struct{ a, p string }
	byAP := map[ap]*HealthRow{}
	for _, d := range devices {
		s := st.Get(d.ID, now)
		if d.Disabled {
			s.State = StateDisabled
		}
		h.Total.add(s)
		if byArea[d.Area] == nil {
			byArea[d.Area] = &HealthRow{Area: d.Area}
		}
		byArea[d.Area].add(s)
		if byProf[d.Profile] == nil {
			byProf[d.Profile] = &HealthRow{Profile: d.Profile}
		}
		byProf[d.Profile].add(s)
		k := ap{d.Area, d.Profile}
		if byAP[k] == nil {
			byAP[k] = &HealthRow{Area: d.Area, Profile: d.Profile}
		}
		byAP[k].add(s)
	}
	h.Total.finish()
	collect := func(m map[string]*HealthRow) []HealthRow {
		out := make([]HealthRow, 0, len(m))
		for _, r := range m {
			r.finish()
			out = append(out, *r)
		}
		return out
	}
	h.ByArea = collect(byArea)
	sort.Slice(h.ByArea, func(i, j int) bool { return h.ByArea[i].Area < h.ByArea[j].Area })
	h.ByProfile = collect(byProf)
	sort.Slice(h.ByProfile, func(i, j int) bool { return h.ByProfile[i].Profile < h.ByProfile[j].Profile })
	h.ByAreaProfile = make([]HealthRow, 0, len(byAP))
	for _, r := range byAP {
		r.finish()
		h.ByAreaProfile = append(h.ByAreaProfile, *r)
	}
	sort.Slice(h.ByAreaProfile, func(i, j int) bool {
		a, b := h.ByAreaProfile[i], h.ByAreaProfile[j]
		if a.Area != b.Area {
			return a.Area < b.Area
		}
		return a.Profile < b.Profile
	})
	return h
}
