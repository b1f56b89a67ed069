package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/area"
	"github.com/citybrain/citybrain/internal/assess"
	"github.com/citybrain/citybrain/internal/httpapi"
	"github.com/citybrain/citybrain/internal/org"
	"github.com/citybrain/citybrain/internal/store"
	"github.com/citybrain/citybrain/internal/workorder"
)

// demoHistorySource marks the synthetic work orders of the demo district's history.
const demoHistorySource = "demo-history"

// wireAssess connects assessment (评估考核): the service over the store with the area
// hierarchy, departments and live device status; the shipped indicator systems (a template
// that changed becomes a new version); the /api/v1/assess routes; and, under `citybrain
// demo`, several months of synthetic work-order history with computed results.
func wireAssess(ctx context.Context, a *app) error {
	var deviceState func(string) (string, time.Time)
	if a.devices != nil {
		tracker := a.devices.Status()
		deviceState = func(id string) (string, time.Time) {
			st := tracker.Get(id, a.clock.Now())
			return st.State, st.LastSeen
		}
	}
	areas := func() *area.Map {
		if a.areaMap == nil {
			return nil
		}
		return a.areaMap.Load()
	}
	svc := assess.NewService(assessConfig(a.db, areas, a.clock.Now, deviceState))
	a.assess = svc
	changed, err := svc.ImportTemplates(ctx)
	if err != nil {
		return fmt.Errorf("assess: %w", err)
	}
	if len(changed) > 0 {
		a.log.Info("assessment systems imported", "versions", changed)
	}
	a.api.Mount(httpapi.AssessRoutes(a.api, svc)...)
	if a.demo {
		if err := demoAssessHistory(ctx, a, svc); err != nil {
			return fmt.Errorf("assess demo history: %w", err)
		}
	}
	return nil
}

// assessConfig builds the service configuration; areas may change at run time, so the
// directory is rebuilt when the area map changes.
func assessConfig(db *store.DB, areas func() *area.Map, now func() time.Time, deviceState func(string) (string, time.Time)) assess.Config {
	var depts []assess.Unit
	if ds, err := org.Departments(); err == nil {
		for _, d := range ds {
			depts = append(depts, assess.Unit{Code: d.Code, NameZH: d.NameZH, NameEN: d.NameEN})
		}
	}
	var lastMap *area.Map
	var lastDir *assess.Directory
	dirFor := func(m *area.Map) *assess.Directory {
		var nodes []assess.AreaNode
		if m != nil {
			for _, x := range m.All() {
				nodes = append(nodes, assess.AreaNode{Code: x.Code, Parent: x.Parent, Level: string(x.Level), NameZH: x.NameZH, NameEN: x.NameEN})
			}
		}
		return assess.NewDirectory(nodes, depts)
	}
	var mu sync.Mutex
	directory := func() *assess.Directory {
		m := areas()
		mu.Lock()
		defer mu.Unlock()
		if lastDir == nil || m != lastMap {
			lastMap, lastDir = m, dirFor(m)
		}
		return lastDir
	}
	return assess.Config{Repo: db, Directory: directory, Now: now, DeviceState: deviceState}
}

// demoStreetQuality gives each demo street how well its orders are handled (the chance a
// step is done on time), so the rankings have clear leaders and laggards; the last street
// gets few orders (it is scored but not ranked).
func demoStreetQuality(i, n int) (quality float64, weight float64) {
	switch {
	case i == n-1:
		return 0.9, 0.08
	case i >= n-3:
		return 0.55 + 0.05*float64(n-2-i), 1
	case i < 3:
		return 0.96 - 0.01*float64(i), 1
	}
	return 0.8 + 0.02*float64(i%5), 1
}

// demoAssessHistory fills an empty work-order table with about six months of synthetic but
// real orders (with their event history) across the demo district's streets and
// departments, then computes the last two quarters and the last six months.
func demoAssessHistory(ctx context.Context, a *app, svc *assess.Service) error {
	// "Empty": no history yet — nothing generated before, and no order older than an hour
	// (simulated reports filed in the first seconds of this start do not count).
	for _, f := range []workorder.Filter{{Source: demoHistorySource}, {To: a.clock.Now().Add(-time.Hour)}} {
		n, err := a.db.CountOrders(ctx, f)
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
	}
	if a.areaMap == nil || a.areaMap.Load() == nil || a.workorders == nil {
		return nil
	}
	m := a.areaMap.Load()
	streets := m.ByLevel(area.LevelStreet)
	if len(streets) == 0 {
		return nil
	}
	sort.Slice(streets, func(i, j int) bool { return streets[i].Code < streets[j].Code })
	dict := a.workorders.Dictionary()
	var cats []workorder.Category
	for _, c := range dict.Categories() {
		if c.Parent == "" && c.Department != "" && len(c.Examples) > 0 {
			cats = append(cats, c)
		}
	}
	if len(cats) == 0 {
		return nil
	}
	loc := svc.Location()
	now := a.clock.Now().In(loc)
	curQ, _ := svc.ParsePeriod(assess.Quarter(now))
	from := curQ.Previous().Previous().From
	start := time.Now()
	orders := demoOrders(streets, m, cats, from, now, loc)
	perDay := map[string]int64{}
	ords := make([]*workorder.Order, len(orders))
	evs := make([][]*workorder.Event, len(orders))
	for i, d := range orders {
		day := d.o.CreatedAt.In(loc)
		k := day.Format("20060102")
		perDay[k]++
		d.o.TrackingNo = workorder.TrackingNumber(day, perDay[k])
		ords[i], evs[i] = d.o, d.evs
	}
	if err := a.db.ImportWorkOrderHistory(ctx, ords, evs); err != nil {
		return err
	}
	a.log.Info("demo work-order history generated", "orders", len(orders), "from", from.Format("2006-01-02"), "took", time.Since(start).Round(time.Millisecond))
	// Compute the two complete quarters before this one and the last six complete months.
	var periods []string
	q := curQ.Previous()
	periods = append(periods, q.Previous().Name, q.Name)
	mStart := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
	for i := 6; i >= 1; i-- {
		periods = append(periods, mStart.AddDate(0, -i, 0).Format("2006-01"))
	}
	for _, sys := range []string{"wo-street", "wo-dept"} {
		for _, p := range periods {
			if _, err := svc.Recompute(ctx, sys, p, "demo"); err != nil {
				return err
			}
		}
	}
	a.log.Info("demo assessment computed", "periods", periods, "took", time.Since(start).Round(time.Millisecond))
	// Systems that use live device status are computed once the simulated devices have
	// reported for a while, with demo site-inspection and questionnaire scores (with evidence).
	a.goTask("assess-demo-devices", func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Minute):
		}
		rng := rand.New(rand.NewPCG(9, 9))
		for i, st := range streets {
			qual, _ := demoStreetQuality(i, len(streets))
			for _, ind := range []string{"clean.site", "tidy.site", "order.site", "satisfied.survey"} {
				v := min(100, 40+55*qual+6*rng.Float64())
				ev := fmt.Sprintf("%s 实地考察与问卷（演示数据）：抽查 %d 处点位 / demo site inspection of %d points", q.Name, 8+rng.IntN(8), 8+rng.IntN(8))
				if _, err := svc.PutManual(ctx, assess.ManualInput{System: "city-mgmt", Period: q.Name, Unit: st.Code, Indicator: ind,
					Value: float64(int(v*10)) / 10, Evidence: ev, EnteredBy: "demo"}); err != nil {
					a.log.Warn("demo manual input", "err", err)
				}
			}
		}
		for _, sys := range []string{"city-mgmt", "device-health"} {
			if _, err := svc.Recompute(ctx, sys, q.Name, "demo"); err != nil {
				a.log.Warn("demo assessment", "system", sys, "err", err)
			}
		}
		return nil
	})
	return nil
}

type demoOrder struct {
	o   *workorder.Order
	evs []*workorder.Event
}

// demoOrders generates the orders deterministically (fixed seed).
func demoOrders(streets []area.Area, m *area.Map, cats []workorder.Category, from, now time.Time, loc *time.Location) []demoOrder {
	rng := rand.New(rand.NewPCG(2026, 7))
	type place struct {
		street, community, grid string
		pt                      area.Point
	}
	places := make([][]place, len(streets))
	for i, s := range streets {
		for _, c := range m.Children(s.Code) {
			grids := m.Children(c.Code)
			if len(grids) == 0 {
				places[i] = append(places[i], place{s.Code, c.Code, "", c.Centroid})
			}
			for _, g := range grids {
				places[i] = append(places[i], place{s.Code, c.Code, g.Code, g.Centroid})
			}
		}
		if len(places[i]) == 0 {
			places[i] = append(places[i], place{s.Code, "", "", s.Centroid})
		}
	}
	var out []demoOrder
	lastByStreet := map[string]int{}
	seq := 0
	for day := from; day.Before(now); day = day.AddDate(0, 0, 1) {
		for si, s := range streets {
			q, w := demoStreetQuality(si, len(streets))
			// Quality drifts a little month by month so trends move.
			q += 0.03 * float64((int(day.Month())+si)%3-1)
			perDay := 1.6 * w
			k := int(perDay)
			if rng.Float64() < perDay-float64(k) {
				k++
			}
			for range k {
				seq++
				created := day.Add(time.Duration(7*3600+rng.IntN(14*3600)) * time.Second)
				if !created.Before(now) {
					continue
				}
				p := places[si][rng.IntN(len(places[si]))]
				c := cats[rng.IntN(len(cats))]
				d := demoOne(rng, seq, s.Code, p.community, p.grid, p.pt, c, created, now, q+demoDeptBias(c.Department))
				if prev, ok := lastByStreet[s.Code]; ok && rng.Float64() < 0.03 && out[prev].o.Open() {
					// A repeat report of an open order: closed as a duplicate (并单).
					d.o.State, d.o.Resolution, d.o.ClosedAt = workorder.StateClosed, workorder.ResolutionDuplicate, created.Add(20*time.Minute)
					d.o.Deadline, d.o.RespondedAt, d.o.Rating, d.o.Satisfied = time.Time{}, time.Time{}, 0, nil
					d.evs = d.evs[:1]
					d.evs = append(d.evs, demoEvent(d.o.ClosedAt, workorder.ActCloseDuplicate, workorder.StateAccepted, workorder.StateClosed, citybrain.RoleOperator, ""))
				}
				d.o.UpdatedAt = d.evs[len(d.evs)-1].At
				lastByStreet[s.Code] = len(out)
				out = append(out, d)
			}
		}
	}
	return out
}

// demoDeptBias makes some departments handle orders better than others (deterministic).
func demoDeptBias(code string) float64 {
	h := sha256.Sum256([]byte(code))
	return float64(int(h[0])%13-8) / 100
}

func demoEvent(at time.Time, act workorder.Action, from, to workorder.State, role, dept string) *workorder.Event {
	return &workorder.Event{At: at, Action: act, From: from, To: to, ActorRole: role, ActorDept: dept, ActorName: "演示 demo",
		Public: act == workorder.ActCreate || act == workorder.ActClose || act == workorder.ActFeedback}
}

// demoOne plays one order through the lifecycle up to now; q is the chance each step is
// done well and on time.
func demoOne(rng *rand.Rand, seq int, street, community, grid string, pt area.Point, c workorder.Category, created, now time.Time, q float64) demoOrder {
	h := sha256.Sum256([]byte(fmt.Sprintf("demo-history-%d", seq)))
	ex := c.Examples[rng.IntN(len(c.Examples))]
	o := &workorder.Order{TokenHash: hex.EncodeToString(h[:]), Source: demoHistorySource, Category: c.Code, Priority: workorder.PriorityNormal,
		Title: ex, Description: ex + "（演示历史数据 synthetic demo history）", HasLocation: true, Lon: pt[0], Lat: pt[1],
		Street: street, Community: community, Grid: grid, LeadDept: c.Department, State: workorder.StateAccepted, CreatedAt: created,
		Reporters: []workorder.Reporter{{Channel: "12345", ReportedAt: created}}}
	dept := c.Department
	evs := []*workorder.Event{demoEvent(created, workorder.ActCreate, "", workorder.StateAccepted, workorder.RoleSystem, "")}
	at := created.Add(time.Duration(5+rng.IntN(30)) * time.Minute)
	add := func(t time.Time, act workorder.Action, to workorder.State, role string) bool {
		if !t.Before(now) {
			return false
		}
		evs = append(evs, demoEvent(t, act, o.State, to, role, dept))
		o.State = to
		return true
	}
	sla := 72 * time.Hour
	if rng.Float64() < 0.2 {
		sla, o.Priority = 24*time.Hour, workorder.PriorityUrgent
	}
	if !add(at, workorder.ActDispatch, workorder.StateDispatched, citybrain.RoleOperator) {
		return demoOrder{o, evs}
	}
	o.DispatchedAt, o.Deadline, o.SLAName = at, at.Add(sla), string(o.Priority)
	good := func() bool { return rng.Float64() < q }
	// 签收
	ack := at.Add(time.Duration(10+rng.IntN(240)) * time.Minute)
	if !good() {
		ack = o.Deadline.Add(time.Duration(1+rng.IntN(48)) * time.Hour)
	}
	if !add(ack, workorder.ActAcknowledge, workorder.StateAcknowledged, citybrain.RoleDept) {
		return demoOrder{o, evs}
	}
	add(ack.Add(30*time.Minute), workorder.ActStart, workorder.StateInProgress, citybrain.RoleDept)
	if rng.Float64() < 0.06 && ack.Before(o.Deadline.Add(-6*time.Hour)) {
		t := ack.Add(2 * time.Hour)
		if add(t, workorder.ActRequestExtension, workorder.StateInProgress, citybrain.RoleDept) &&
			add(t.Add(time.Hour), workorder.ActApproveExtension, workorder.StateInProgress, citybrain.RoleOperator) {
			o.Deadline = o.Deadline.Add(48 * time.Hour)
		}
	}
	// 反馈
	fb := ack.Add(time.Duration(float64(o.Deadline.Sub(ack)) * (0.2 + 0.6*rng.Float64())))
	if !good() || fb.Before(ack) {
		fb = o.Deadline.Add(time.Duration(2+rng.IntN(96)) * time.Hour)
	}
	if !add(fb, workorder.ActFeedback, workorder.StateResponded, citybrain.RoleDept) {
		return demoOrder{o, evs}
	}
	o.RespondedAt = fb
	// 核查: sometimes fails (返工) and the unit feeds back again.
	if rng.Float64() < (1-q)*0.7 {
		rw := fb.Add(time.Duration(2+rng.IntN(20)) * time.Hour)
		if !add(rw, workorder.ActRework, workorder.StateInProgress, citybrain.RoleWorker) {
			return demoOrder{o, evs}
		}
		o.RespondedAt = time.Time{}
		fb = rw.Add(time.Duration(6+rng.IntN(48)) * time.Hour)
		if !add(fb, workorder.ActFeedback, workorder.StateResponded, citybrain.RoleDept) {
			return demoOrder{o, evs}
		}
		o.RespondedAt = fb
	}
	vt := fb.Add(time.Duration(1+rng.IntN(10)) * time.Hour)
	if !add(vt, workorder.ActVerify, workorder.StateVerified, citybrain.RoleWorker) {
		return demoOrder{o, evs}
	}
	ct := vt.Add(time.Duration(10+rng.IntN(120)) * time.Minute)
	if !add(ct, workorder.ActClose, workorder.StateClosed, citybrain.RoleOperator) {
		return demoOrder{o, evs}
	}
	o.Resolution, o.ClosedAt = workorder.ResolutionFixed, ct
	// 回访
	if rng.Float64() < 0.75 {
		rt := ct.Add(time.Duration(4+rng.IntN(44)) * time.Hour)
		rating := 4 + rng.IntN(2)
		if !good() {
			rating = 1 + rng.IntN(3)
		}
		sat := rating >= 4 || (rating == 3 && rng.Float64() < 0.3)
		if add(rt, workorder.ActRate, workorder.StateRated, workorder.RoleReporter) {
			o.Rating, o.Satisfied = rating, &sat
			evs[len(evs)-1].Data = map[string]string{"rating": fmt.Sprint(rating)}
		}
	}
	return demoOrder{o, evs}
}
