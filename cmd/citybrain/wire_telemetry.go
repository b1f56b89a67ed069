package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/area"
	"github.com/citybrain/citybrain/internal/device"
	"github.com/citybrain/citybrain/internal/httpapi"
	"github.com/citybrain/citybrain/internal/telemetry"
	"github.com/prometheus/client_golang/prometheus"
)

// wireTelemetry opens the time-series service over the store (it compacts, rolls up and
// enforces retention in its own writer goroutine) and mounts the telemetry routes. The
// routes find devices through the registry, which wireDevices opens afterwards.
func wireTelemetry(ctx context.Context, a *app) error {
	svc, err := telemetry.Open(ctx, a.db, telemetry.Options{
		Now:             a.clock.Now,
		RawRetention:    a.cfg.RawRetention,
		MinuteRetention: a.cfg.RollupRetention,
		HourRetention:   a.cfg.RollupRetention,
		MaintainEvery:   telemetryMaintainEvery(a), // one node of a cluster compacts
	})
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	a.telemetry = svc
	a.onClose(func() { _ = svc.Close() })
	stat := func(f func(telemetry.Stats) int64) func() float64 {
		return func() float64 { return float64(f(svc.Stats())) }
	}
	a.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "citybrain_telemetry_readings_appended_total", Help: "Readings stored by acknowledged Append calls."},
			stat(func(s telemetry.Stats) int64 { return s.Appended })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "citybrain_telemetry_commits_total", Help: "Group-commit transactions of raw readings."},
			stat(func(s telemetry.Stats) int64 { return s.Commits })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "citybrain_telemetry_refused_total", Help: "Append calls refused for backpressure (queue full or storage too slow)."},
			stat(func(s telemetry.Stats) int64 { return s.Refused })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "citybrain_telemetry_compacted_total", Help: "Series-hours moved from raw points into chunks and rollups."},
			stat(func(s telemetry.Stats) int64 { return s.Compacted })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "citybrain_telemetry_queue_readings", Help: "Readings accepted and waiting for their group commit."},
			stat(func(s telemetry.Stats) int64 { return s.Queued })),
	)
	dir := &telemetryDirectory{a: a, ttl: 10 * time.Second, cache: map[string]membersEntry{}}
	a.api.Mount(httpapi.TelemetryRoutes(a.api, svc, dir, a.clock.Now)...)
	return nil
}

// telemetryDirectory answers the telemetry routes from the device registry and the area
// map. Member lists for group aggregates are cached for ttl: a dashboard polling a
// district-wide aggregate should not list 10,000 devices each time.
type telemetryDirectory struct {
	a   *app
	ttl time.Duration

	mu    sync.Mutex
	cache map[string]membersEntry // by profile
}

type membersEntry struct {
	at      time.Time
	members []telemetry.Member
}

var _ httpapi.TelemetryDirectory = (*telemetryDirectory)(nil)

func (d *telemetryDirectory) registry() (*device.Service, error) {
	if d.a.devices == nil {
		return nil, citybrain.Errorf(citybrain.EUNAVAILABLE, "设备登记尚未就绪 the device registry is not ready")
	}
	return d.a.devices, nil
}

func (d *telemetryDirectory) member(dev device.Device) telemetry.Member {
	m := telemetry.Member{DeviceID: dev.ID, Profile: dev.Profile}
	var loc area.Location
	ok := false
	if am := d.a.areaMap; am != nil {
		if mp := am.Load(); mp != nil && dev.Area != "" {
			loc, ok = mp.Location(dev.Area)
		}
		if !ok && (dev.Lon != 0 || dev.Lat != 0) {
			loc, ok = am.Locate(dev.Lon, dev.Lat)
		}
	}
	if ok {
		m.District, m.Street, m.Community, m.Grid = loc.District, loc.Street, loc.Community, loc.Grid
	}
	return m
}

// Member implements httpapi.TelemetryDirectory.
func (d *telemetryDirectory) Member(ctx context.Context, id string) (telemetry.Member, error) {
	reg, err := d.registry()
	if err != nil {
		return telemetry.Member{}, err
	}
	dev, err := reg.Get(ctx, id)
	if err != nil {
		return telemetry.Member{}, err
	}
	return d.member(dev), nil
}

// Members implements httpapi.TelemetryDirectory.
func (d *telemetryDirectory) Members(ctx context.Context, profile string) ([]telemetry.Member, error) {
	now := d.a.clock.Now()
	d.mu.Lock()
	e, ok := d.cache[profile]
	d.mu.Unlock()
	if ok && now.Sub(e.at) < d.ttl {
		return e.members, nil
	}
	reg, err := d.registry()
	if err != nil {
		return nil, err
	}
	var out []telemetry.Member
	err = reg.Each(ctx, device.Filter{Profile: profile}, func(dev device.Device) bool {
		if !dev.Disabled {
			out = append(out, d.member(dev))
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.cache[profile] = membersEntry{at: now, members: out}
	d.mu.Unlock()
	return out, nil
}

// GroupName implements httpapi.TelemetryDirectory: the Chinese name of an area or profile.
func (d *telemetryDirectory) GroupName(by, key string) string {
	if by == telemetry.GroupProfile {
		if reg, err := d.registry(); err == nil {
			if p := reg.Profiles().Get(key); p != nil {
				return p.NameZh
			}
		}
		return ""
	}
	if d.a.areaMap != nil {
		if mp := d.a.areaMap.Load(); mp != nil {
			if ar, ok := mp.Get(key); ok {
				return ar.NameZH
			}
		}
	}
	return ""
}
