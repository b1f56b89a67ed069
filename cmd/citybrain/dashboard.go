package main

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/area"
	"github.com/citybrain/citybrain/internal/bus"
	"github.com/citybrain/citybrain/internal/device"
	"github.com/citybrain/citybrain/internal/httpapi"
)

// dashboard computes the command center's KPI tiles and the aggregated device layer of the
// map from the subsystems' own state, caching each for a short time so many screens cost
// the same as one. Safe for concurrent use.
type dashboard struct {
	a   *app
	ttl time.Duration

	mu      sync.Mutex
	kpiAt   time.Time
	kpi     map[string]any
	devAt   time.Time
	devices []device.Device
}

// allDevices lists the registry, cached for ttl.
func (d *dashboard) allDevices(ctx context.Context) ([]device.Device, error) {
	d.mu.Lock()
	if time.Since(d.devAt) < d.ttl && d.devices != nil {
		ds := d.devices
		d.mu.Unlock()
		return ds, nil
	}
	d.mu.Unlock()
	all, err := d.a.devices.All(ctx, device.Filter{})
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.devices, d.devAt = all, time.Now()
	d.mu.Unlock()
	return all, nil
}

// KPI returns the tiles: devices online/total, open alerts by severity, open and overdue
// work orders.
func (d *dashboard) KPI(ctx context.Context) (map[string]any, error) {
	d.mu.Lock()
	if time.Since(d.kpiAt) < d.ttl && d.kpi != nil {
		k := d.kpi
		d.mu.Unlock()
		return k, nil
	}
	d.mu.Unlock()
	k := map[string]any{"at": time.Now().UTC()}
	if d.a.devices != nil {
		ds, err := d.allDevices(ctx)
		if err != nil {
			return nil, err
		}
		h := device.ComputeHealth(ds, d.a.devices.Status(), time.Now())
		k["devices_total"] = h.Total.Registered
		k["devices_online"] = h.Total.Online
		k["devices_silent"] = h.Total.Silent
		k["devices_low_battery"] = h.Total.LowBattery
	}
	if counts, err := d.a.db.AlertCounts(ctx); err == nil {
		sev := map[string]int{}
		for status, bySev := range counts {
			if status == "resolved" {
				continue
			}
			for s, n := range bySev {
				sev[s] += n
			}
		}
		k["alerts_critical"], k["alerts_warning"], k["alerts_info"] = sev["critical"], sev["warning"], sev["info"]
	}
	if d.a.workorders != nil {
		st, err := d.a.workorders.Counts(citybrain.WithActor(ctx, &citybrain.Actor{Role: citybrain.RoleOperator, Username: "dashboard"}))
		if err == nil {
			k["workorders_open"], k["workorders_overdue"], k["workorders_triage"] = st.Open, st.Overdue, st.Triage
		}
	}
	d.mu.Lock()
	d.kpi, d.kpiAt = k, time.Now()
	d.mu.Unlock()
	return k, nil
}

// mapPoint is one aggregated marker: the devices of one area at its label point.
type mapPoint struct {
	Code     string  `json:"code"`
	Name     string  `json:"name"`
	Lon      float64 `json:"lon"`
	Lat      float64 `json:"lat"`
	Total    int     `json:"total"`
	Online   int     `json:"online"`
	Alerting int     `json:"alerting"`
}

// DeviceLayer aggregates every device into its community or grid (server-side clustering
// keeps the map smooth with 50,000 devices), optionally within a parent area.
func (d *dashboard) DeviceLayer(ctx context.Context, level area.Level, parent string, alerting map[string]bool) ([]mapPoint, error) {
	if d.a.devices == nil || d.a.areaMap == nil {
		return []mapPoint{}, nil
	}
	m := d.a.areaMap.Load()
	ds, err := d.allDevices(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	st := d.a.devices.Status()
	agg := map[string]*mapPoint{}
	for _, dev := range ds {
		if dev.Disabled {
			continue
		}
		code := ""
		for _, anc := range m.Path(dev.Area) {
			if anc.Level == level {
				code = anc.Code
			}
		}
		if code == "" || (parent != "" && !m.Within(code, parent)) {
			continue
		}
		p := agg[code]
		if p == nil {
			a, _ := m.Get(code)
			p = &mapPoint{Code: code, Name: a.NameZH, Lon: a.Centroid[0], Lat: a.Centroid[1]}
			agg[code] = p
		}
		p.Total++
		if st.Get(dev.ID, now).State == device.StateOnline {
			p.Online++
		}
		if alerting[dev.ID] {
			p.Alerting++
		}
	}
	out := make([]mapPoint, 0, len(agg))
	for _, p := range agg {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out, nil
}

// dashboardRoutes mounts the KPI and map-layer endpoints and publishes KPI changes.
func dashboardRoutes(a *app) []httpapi.Route {
	d := &dashboard{a: a, ttl: 2 * time.Second}
	staff := []string{citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleDept, citybrain.RoleWorker, citybrain.RoleAuditor}
	a.goLeaderTask("kpi-push", func(ctx context.Context) error {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		var last []byte
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
			k, err := d.KPI(ctx)
			if err != nil {
				continue
			}
			delete(k, "at")
			b, _ := json.Marshal(k)
			if string(b) != string(last) {
				last = b
				_ = a.bus.Publish(bus.SubjectKPI, b)
			}
		}
	})
	return []httpapi.Route{
		{Method: "GET", Path: "/api/v1/dashboard/kpi", Tag: "dashboard", Roles: staff, Summary: "KPI tiles: devices online, open alerts by severity, open and overdue work orders",
			Response: map[string]any{}, Handle: func(w http.ResponseWriter, r *http.Request) error {
				k, err := d.KPI(r.Context())
				if err != nil {
					return err
				}
				return httpapi.JSON(w, http.StatusOK, k)
			}},
		{Method: "GET", Path: "/api/v1/map/devices", Tag: "dashboard", Roles: staff, Summary: "Devices aggregated per community or grid for the map (online, total, alerting)",
			Query:    map[string]string{"level": "community (default) or grid", "parent": "only areas within this area code"},
			Response: httpapi.Page[mapPoint]{}, Handle: func(w http.ResponseWriter, r *http.Request) error {
				lv := area.LevelCommunity
				if l := r.URL.Query().Get("level"); l != "" {
					pl, ok := area.ParseLevel(l)
					if !ok || (pl != area.LevelCommunity && pl != area.LevelGrid && pl != area.LevelStreet) {
						return citybrain.FieldError("level", "level must be street, community or grid")
					}
					lv = pl
				}
				alerting, err := a.db.AlertingDevices(r.Context())
				if err != nil {
					return err
				}
				pts, err := d.DeviceLayer(r.Context(), lv, r.URL.Query().Get("parent"), alerting)
				if err != nil {
					return err
				}
				return httpapi.JSON(w, http.StatusOK, httpapi.Page[mapPoint]{Items: pts})
			}},
	}
}
