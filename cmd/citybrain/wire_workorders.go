package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/bus"
	"github.com/citybrain/citybrain/internal/httpapi"
	"github.com/citybrain/citybrain/internal/open311"
	"github.com/citybrain/citybrain/internal/triage"
	"github.com/citybrain/citybrain/internal/workorder"
)

// workorderTick is how often the deadline job looks for reminders (催办) and escalations
// (督办); it also runs once at start to catch up on what was missed while down.
const workorderTick = time.Minute

// wireWorkorders connects work orders: the service over the store with the assistant, the
// area map and notices on the bus; the /api/v1 routes; the Open311 GeoReport v2 server at
// /open311/v2/; and the deadline job. a.workorders is the handle rules use to open an order
// from an alert (OpenFromAlert, through workOrderOpener in wire_rules.go).
func wireWorkorders(ctx context.Context, a *app) error {
	locate := func(lon, lat float64) (string, string, string, bool) {
		if a.areaMap == nil {
			return "", "", "", false
		}
		l, ok := a.areaMap.Locate(lon, lat)
		return l.Grid, l.Community, l.Street, ok
	}
	notify := func(ctx context.Context, n workorder.Notice) {
		b, err := json.Marshal(n)
		if err != nil {
			return
		}
		if a.bus != nil {
			if err := a.bus.Publish(bus.SubjectWorkOrders+".notice", b); err != nil {
				a.log.Warn("work-order notice not published", "order", n.TrackingNo, "err", err)
			}
		}
		if a.liveHub != nil && a.bus == nil { // with a bus the hub hears it there (from every node)
			a.liveHub.Publish("workorder", b)
		}
	}
	svc, err := workorder.New(ctx, workorder.Options{Repo: a.db, Clock: a.clock, Triager: &lazyTriager{t: sharedTriager(a)}, Locator: locate, Notify: notify})
	if err != nil {
		return fmt.Errorf("work orders: %w", err)
	}
	a.workorders = svc
	a.api.Mount(httpapi.WorkorderRoutes(a.api, svc, httpapi.WorkorderOptions{Now: a.clock.Now, Media: a.db})...)
	o311, err := open311.New(svc, func(ctx context.Context, key string) (*citybrain.Actor, error) {
		u, err := a.access.AuthenticateToken(ctx, key)
		if err != nil {
			return nil, err
		}
		return u.Actor(), nil
	}, open311.Config{Now: a.clock.Now})
	if err != nil {
		return fmt.Errorf("open311: %w", err)
	}
	a.api.MountHandler("/open311/v2/", o311)
	a.goLeaderTask("workorder-deadlines", func(ctx context.Context) error {
		svc.Run(ctx, workorderTick, func(format string, args ...any) { a.log.Info(fmt.Sprintf(format, args...)) })
		return nil
	})
	return nil
}

// sharedTriager is the assistant wired by wireTriage (offline, or model-backed behind the
// governance masker), or nil when triage is not wired.
func sharedTriager(a *app) triage.Triager {
	if a.triager == nil {
		return nil
	}
	return a.triager
}

// lazyTriager builds the shipped offline classifier on first use, so starting the platform
// (and every in-process test) does not pay for it. If wireTriage comes to hold a shared
// triage.Triager in services, pass that instead.
type lazyTriager struct {
	once sync.Once
	t    triage.Triager
	err  error
}

// Triage implements workorder.Triager over the triage package.
func (l *lazyTriager) Triage(ctx context.Context, text string) (workorder.Proposal, error) {
	l.once.Do(func() {
		if l.t != nil {
			return
		}
		c, err := triage.New()
		l.t, l.err = c, err
	})
	if l.err != nil {
		return workorder.Proposal{}, l.err
	}
	r, err := l.t.Triage(ctx, text)
	if err != nil {
		return workorder.Proposal{}, err
	}
	return workorder.Proposal{Category: r.Category, Confidence: r.Confidence, Urgency: workorder.Priority(r.Urgency),
		Department: r.Department, Reasons: r.Reasons}, nil
}
