package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/alert"
	"github.com/citybrain/citybrain/internal/bus"
	"github.com/citybrain/citybrain/internal/device"
	"github.com/citybrain/citybrain/internal/governance"
	"github.com/citybrain/citybrain/internal/httpapi"
	"github.com/citybrain/citybrain/internal/rule"
	"github.com/citybrain/citybrain/internal/telemetry"
	"github.com/citybrain/citybrain/internal/webhook"
	"github.com/citybrain/citybrain/internal/workorder"
	"github.com/prometheus/client_golang/prometheus"
)

// Rule timing in the running platform.
const (
	ruleSweepEvery    = 5 * time.Second  // For, absence and offline deadlines
	alertEscalateScan = 30 * time.Second // unacknowledged critical alerts
	ruleStateEvery    = time.Minute      // window state snapshot (also at shutdown)
	ruleDeviceRefresh = 5 * time.Minute  // device profile and area changes
)

// wireRules connects rules and alerts: the engine fed from the bus subjects of readings,
// events and status; alert changes published on bus.SubjectAlerts (an alert.Change as
// JSON) for the live UI; notifications through the governance text filter to the log and
// to webhooks; work orders for rules that ask for them; the HTTP routes; and background
// tasks for deadlines, escalation and window-state snapshots.
func wireRules(ctx context.Context, a *app) error {
	if a.devices == nil {
		return errors.New("rules: the device registry is not wired")
	}
	catalog := deviceCatalog(a.devices.Profiles())
	lookup := func(id string) (rule.DeviceInfo, bool) {
		d, err := a.devices.Get(context.Background(), id)
		if err != nil || d.Disabled {
			return rule.DeviceInfo{}, false
		}
		return ruleDeviceInfo(a, d), true
	}
	engine := rule.NewEngine(rule.Config{Lookup: lookup, Catalog: catalog})

	// Notifications leave only through the governance text filter.
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	masker, err := governance.NewMasker(key)
	if err != nil {
		return fmt.Errorf("rules: masker: %w", err)
	}
	filter := func(s string) string { return masker.MaskText(s, governance.GradeGeneral4) }
	if a.governance != nil {
		// Webhook and SMS receivers are external readers: the governance decisions mask
		// personal information for them (clearance 2) and the masking is audited.
		filter = a.governance.ModelMasker(governance.GradeGeneral4, 2)
	}
	hooks := &alert.WebhookNotifier{Subscriptions: a.db.ListSubscriptions, Send: webhook.New(10 * time.Second).Send, Record: a.db.RecordDelivery}
	a.notifier, err = alert.NewDispatcher(filter, a.log.With("component", "alerts"), alert.LogNotifier{Log: a.log.With("component", "alerts")}, hooks)
	if err != nil {
		return err
	}
	a.goTask("alert-notifications", func(ctx context.Context) error { a.notifier.Run(ctx, 4); return nil })

	publish := func(c alert.Change) {
		b, err := json.Marshal(c)
		if err == nil {
			err = a.bus.Publish(bus.SubjectAlerts, b)
		}
		if err != nil {
			a.log.Warn("alert publish failed", "alert", c.Alert.ID, "err", err)
		}
	}
	a.alerts = alert.NewManager(alert.Config{Repo: a.db, Clock: a.clock, Notify: a.notifier.Send, OnChange: publish,
		OpenWorkOrder: workOrderOpener(a), EscalateAfter: a.cfg.EscalateAfter})

	// Signals go to one worker so bus callbacks never wait on the database; the channel
	// is large and a full channel blocks (backpressure) rather than losing an alert.
	signals := make(chan []rule.Signal, 4096)
	feed := func(sigs []rule.Signal) {
		// every node evaluates (a hot standby); only the cluster's leader raises alerts
		if len(sigs) > 0 && a.leading() {
			signals <- sigs
		}
	}
	a.rules = rule.NewService(rule.ServiceConfig{Repo: clusterRuleRepo{a.db, a}, Engine: engine, Catalog: catalog, Clock: a.clock,
		History: ruleHistory{a: a}, Signals: func(_ context.Context, sigs []rule.Signal) { feed(sigs) }})
	if a.demo {
		for _, r := range rule.DemoRules() {
			if sp := a.cfg.SimSpeed; sp > 1 && r.For > 0 { // --sim-speed: shorter windows too
				r.For = rule.Duration(time.Duration(float64(r.For) / sp).Round(time.Second))
				r.Description += fmt.Sprintf("（演示加速 %g 倍 / demo sped up %g×）", sp, sp)
			}
			if _, err := a.rules.Create(ctx, r); err != nil && citybrain.ErrorCode(err) != citybrain.ECONFLICT {
				return fmt.Errorf("demo rule %s: %w", r.ID, err)
			}
		}
	}
	bad, err := a.rules.Load(ctx)
	if err != nil {
		return err
	}
	for id, e := range bad {
		a.log.Warn("rule not loaded", "rule", id, "err", e)
	}
	// Absence rules must also watch devices that never speak after this start: track every
	// registered device of their profiles now (devices already restored keep their timers).
	if err := trackAbsenceDevices(ctx, a, engine); err != nil {
		return err
	}

	subs := []struct {
		subject string
		fn      func(data []byte) error
	}{
		{bus.SubjectTelemetry + ".>", func(data []byte) error {
			var m bus.TelemetryMsg
			if err := json.Unmarshal(data, &m); err != nil {
				return err
			}
			batch := make([]rule.Reading, len(m.Readings))
			for i, p := range m.Readings {
				batch[i] = rule.Reading{DeviceID: m.Device, Measurement: p.M, TS: p.TS, Value: p.V}
			}
			feed(engine.Readings(batch))
			return nil
		}},
		{bus.SubjectEvents + ".>", func(data []byte) error {
			var m bus.EventMsg
			if err := json.Unmarshal(data, &m); err != nil {
				return err
			}
			feed(engine.Event(rule.Event{DeviceID: m.Device, Type: m.Type, TS: m.TS, Data: m.Data}))
			return nil
		}},
		{bus.SubjectStatus + ".>", func(data []byte) error {
			var m bus.StatusMsg
			if err := json.Unmarshal(data, &m); err != nil {
				return err
			}
			feed(engine.Status(rule.StatusChange{DeviceID: m.Device, Online: m.Online && !m.Silent, TS: m.TS}))
			return nil
		}},
	}
	for _, s := range subs {
		fn, subject := s.fn, s.subject
		stop, err := a.bus.Subscribe(subject, func(_ string, data []byte) {
			if err := fn(data); err != nil {
				a.log.Warn("rules: bad bus message", "subject", subject, "err", err)
			}
		})
		if err != nil {
			return fmt.Errorf("rules: subscribe %s: %w", subject, err)
		}
		a.onClose(stop)
	}
	// rule changes made on other nodes; at takeover, an empty batch asks for missed alerts
	if err := clusterRules(a, engine, feed, func() { signals <- nil }); err != nil {
		return fmt.Errorf("rules: %w", err)
	}

	a.goTask("alert-apply", func(ctx context.Context) error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case sigs := <-signals:
				if sigs == nil { // in order with the signals before and after it
					sigs = missedAlerts(ctx, a, engine)
				}
				for _, s := range sigs {
					if _, err := a.alerts.Apply(context.WithoutCancel(ctx), s); err != nil {
						a.log.Error("alert apply failed", "rule", s.RuleID, "device", s.DeviceID, "state", s.State, "err", err)
					}
				}
			}
		}
	})
	a.goTask("rule-sweep", func(ctx context.Context) error {
		return ruleTicker(ctx, ruleSweepEvery, func() { feed(engine.Sweep(a.clock.Now())) })
	})
	// Devices move or change profile through the device API: look them up again now and
	// then so rules keep matching the right area and profile.
	a.goTask("rule-devices", func(ctx context.Context) error {
		return ruleTicker(ctx, ruleDeviceRefresh, func() {
			for _, old := range engine.Devices() {
				if ctx.Err() != nil {
					return
				}
				info, ok := lookup(old.ID)
				switch {
				case !ok:
					// forget only a device that is really gone or disabled, not one a
					// database hiccup hid
					if d, err := a.devices.Get(ctx, old.ID); citybrain.ErrorCode(err) == citybrain.ENOTFOUND || (err == nil && d.Disabled) {
						engine.ForgetDevice(old.ID)
					}
				case info.Profile != old.Profile || info.Area != old.Area || info.Name != old.Name || info.Household != old.Household ||
					!slices.Equal(info.AreaPath, old.AreaPath):
					feed(engine.UpdateDevice(info, a.clock.Now()))
				}
			}
		})
	})
	a.goLeaderTask("alert-escalation", func(ctx context.Context) error {
		return ruleTicker(ctx, alertEscalateScan, func() {
			if _, err := a.alerts.Escalate(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("alert escalation failed", "err", err)
			}
		})
	})
	a.goLeaderTask("rule-state", func(ctx context.Context) error {
		err := ruleTicker(ctx, ruleStateEvery, func() {
			if err := a.rules.SaveState(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("rule state save failed", "err", err)
			}
		})
		// at shutdown: the store closes after the tasks stop, so save once more now
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if serr := a.rules.SaveState(sctx); serr != nil {
			a.log.Error("rule state save at shutdown failed", "err", serr)
		}
		return err
	})

	registerRuleMetrics(a, engine)
	a.api.Mount(httpapi.RuleRoutes(a.api, httpapi.RuleServices{Rules: a.rules, Alerts: a.alerts, AlertRepo: a.db, Subs: a.db, Counts: a.db.AlertCounts,
		Now: a.clock.Now})...)
	return nil
}

// ruleTicker runs fn every period until ctx ends.
func ruleTicker(ctx context.Context, period time.Duration, fn func()) error {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			fn()
		}
	}
}

// trackAbsenceDevices registers with the engine every enabled device of a profile that
// an enabled absence rule watches.
func trackAbsenceDevices(ctx context.Context, a *app, engine *rule.Engine) error {
	rules, err := a.rules.List(ctx, rule.ListFilter{})
	if err != nil {
		return err
	}
	profiles := map[string]bool{}
	for _, r := range rules {
		if r.Enabled && r.Kind == rule.KindAbsence {
			profiles[r.Profile] = true
		}
	}
	known := map[string]bool{}
	for _, d := range engine.Devices() {
		known[d.ID] = true
	}
	now := a.clock.Now()
	for p := range profiles {
		household := p == rule.AnyProfile // household rules watch home devices of every profile
		if household {
			p = ""
		}
		err := a.devices.Each(ctx, device.Filter{Profile: p}, func(d device.Device) bool {
			if !d.Disabled && !known[d.ID] && (!household || d.Household != "") {
				engine.UpdateDevice(ruleDeviceInfo(a, d), now)
			}
			return true
		})
		if err != nil {
			return fmt.Errorf("rules: list %s devices: %w", p, err)
		}
	}
	return nil
}

// ruleDeviceInfo is what the engine needs of a device: profile, area and the area's path.
func ruleDeviceInfo(a *app, d device.Device) rule.DeviceInfo {
	info := rule.DeviceInfo{ID: d.ID, Name: d.Name, Profile: d.Profile, Area: d.Area, Household: d.Household}
	if a.areaMap != nil {
		if m := a.areaMap.Load(); m != nil {
			for _, ar := range m.Path(d.Area) {
				info.AreaPath = append(info.AreaPath, ar.Code)
			}
		}
	}
	return info
}

// deviceCatalog tells rule validation which measurements and events a profile has.
func deviceCatalog(ps *device.Profiles) rule.Catalog {
	return func(code string) (rule.ProfileInfo, bool) {
		p := ps.Get(code)
		if p == nil {
			return rule.ProfileInfo{}, false
		}
		info := rule.ProfileInfo{AnyMeasurement: p.Generic}
		for _, m := range p.Measurements {
			info.Measurements = append(info.Measurements, m.Key)
		}
		for _, k := range []string{device.KeyBattery, device.KeyRSSI, device.KeySignal} {
			if p.Measurement(k) != nil && !slices.Contains(info.Measurements, k) {
				info.Measurements = append(info.Measurements, k)
			}
		}
		for _, e := range p.Events {
			info.Events = append(info.Events, e.Code)
		}
		return info, true
	}
}

// workOrderOpener opens a work order for an alert whose rule asks for one. The work-order
// service is wired after the rules, so it is looked up at call time.
func workOrderOpener(a *app) alert.WorkOrderOpener {
	return func(ctx context.Context, info alert.AlertInfo) error {
		if a.workorders == nil {
			return errors.New("工单服务不可用 / work orders are not available")
		}
		prio := workorder.PriorityNormal
		switch info.Severity {
		case rule.SeverityCritical:
			prio = workorder.PriorityEmergency
		case rule.SeverityWarning:
			prio = workorder.PriorityUrgent
		}
		in := workorder.AlertOrder{AlertID: strconv.FormatInt(info.AlertID, 10), Title: info.RuleName, Description: info.Summary,
			Category: info.Category, Priority: prio}
		if d, err := a.devices.Get(ctx, info.DeviceID); err == nil {
			in.HasLocation = d.Lon != 0 || d.Lat != 0
			in.Lon, in.Lat, in.Address = d.Lon, d.Lat, d.Address
		}
		_, _, err := a.workorders.OpenFromAlert(ctx, in)
		return err
	}
}

// ruleHistory is the dry run's view of recent history: the device registry, telemetry's
// query API and the device event log.
type ruleHistory struct{ a *app }

// Devices implements rule.History.
func (h ruleHistory) Devices(ctx context.Context, profile string, scope []string, limit int) ([]rule.DeviceInfo, error) {
	var out []rule.DeviceInfo
	if profile == rule.AnyProfile {
		profile = ""
	}
	if limit <= 0 {
		return out, nil
	}
	err := h.a.devices.Each(ctx, device.Filter{Profile: profile}, func(d device.Device) bool {
		if !d.Disabled && inAreaScope(h.a, d.Area, scope) {
			out = append(out, ruleDeviceInfo(h.a, d))
		}
		return len(out) < limit
	})
	return out, err
}

func inAreaScope(a *app, area string, scope []string) bool {
	if len(scope) == 0 {
		return true
	}
	var path []string
	if a.areaMap != nil {
		if m := a.areaMap.Load(); m != nil {
			for _, ar := range m.Path(area) {
				path = append(path, ar.Code)
			}
		}
	}
	for _, s := range scope {
		if strings.HasPrefix(area, s) {
			return true
		}
		for _, p := range path {
			if p == s {
				return true
			}
		}
	}
	return false
}

// Readings implements rule.History.
func (h ruleHistory) Readings(ctx context.Context, deviceID, measurement string, from, to time.Time) ([]rule.Reading, error) {
	if h.a.telemetry == nil {
		return nil, citybrain.Errorf(citybrain.EUNAVAILABLE, "telemetry is not available")
	}
	pts, err := h.a.telemetry.Query(ctx, telemetry.Query{DeviceID: deviceID, Measurement: measurement, From: from, To: to})
	if err != nil {
		return nil, err
	}
	out := make([]rule.Reading, len(pts))
	for i, p := range pts {
		out[i] = rule.Reading{DeviceID: deviceID, Measurement: measurement, TS: p.TS, Value: p.Value}
	}
	return out, nil
}

// Events implements rule.History (the newest 10,000 events of the device, in range).
func (h ruleHistory) Events(ctx context.Context, deviceID string, from, to time.Time) ([]rule.Event, error) {
	es, err := h.a.db.ListDeviceEvents(ctx, deviceID, 10000)
	if err != nil {
		return nil, err
	}
	var out []rule.Event
	for _, e := range es {
		if e.TS >= from.UnixMilli() && e.TS < to.UnixMilli() {
			out = append(out, rule.Event{DeviceID: e.DeviceID, Type: e.Type, TS: e.TS, Data: e.Data})
		}
	}
	return out, nil
}

// registerRuleMetrics exposes the engine's and the notifier's counters.
func registerRuleMetrics(a *app, e *rule.Engine) {
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
	}
	cs := []prometheus.Collector{
		counter("citybrain_rule_readings_total", "Readings evaluated by the rule engine.", func() float64 { return float64(e.Stats().Readings) }),
		counter("citybrain_rule_out_of_order_total", "Readings the rule engine skipped as older than the latest.", func() float64 { return float64(e.Stats().OutOfOrder) }),
		counter("citybrain_rule_eval_errors_total", "Rule evaluations that failed.", func() float64 {
			var n int64
			for _, h := range e.Health() {
				n += h.Errors
			}
			return float64(n)
		}),
		counter("citybrain_alert_notifications_dropped_total", "Alert notifications dropped because the queue was full.", func() float64 { return float64(a.notifier.Dropped()) }),
		counter("citybrain_alert_notifications_failed_total", "Alert notification deliveries that failed after retries.", func() float64 { return float64(a.notifier.Failed()) }),
	}
	for _, c := range cs {
		if err := a.reg.Register(c); err != nil {
			a.log.Warn("rules: metric not registered", "err", err)
		}
	}
}
