package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/citybrain/citybrain/internal/bus"
	"github.com/citybrain/citybrain/internal/httpapi"
	"github.com/citybrain/citybrain/internal/web"
)

// wireWeb serves the UI, the live push stream and the dashboard's summary endpoints.
func wireWeb(ctx context.Context, a *app) error {
	hub := web.NewHub(20000, strconv.FormatInt(time.Now().UnixMilli(), 36))
	a.liveHub = hub
	subs := []struct{ subject, typ string }{
		{bus.SubjectAlerts, "alert"},
		{bus.SubjectStatus + ".>", "status"},
		{bus.SubjectKPI, "kpi"},
		{bus.SubjectWorkOrders, "workorder"},
		{bus.SubjectWorkOrders + ".>", "workorder"}, // work-order notices, from every node of a cluster
	}
	for _, s := range subs {
		typ := s.typ
		stop, err := a.bus.Subscribe(s.subject, func(_ string, data []byte) { hub.Publish(typ, data) })
		if err != nil {
			return err
		}
		a.onClose(stop)
	}
	datasets := map[string]string{"alert": "alerts", "status": "devices", "workorder": "workorders", "kpi": ""}
	a.api.Mount(httpapi.Route{
		Method: "GET", Path: "/api/v1/live", Tag: "live", Raw: true,
		Roles:   []string{"admin", "operator", "dept", "worker", "auditor"},
		Summary: "Server-Sent Events: alert, status, workorder and kpi changes; resumable with Last-Event-ID",
		Query:   map[string]string{"types": "comma-separated event types to receive (default all)", "last_event_id": "resume after this id (or the Last-Event-ID header)"},
		Handle: func(w http.ResponseWriter, r *http.Request) error {
			rc := http.NewResponseController(w)
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("X-Accel-Buffering", "no")
			_ = rc.SetWriteDeadline(time.Time{})
			last := r.Header.Get("Last-Event-ID")
			if last == "" {
				last = r.URL.Query().Get("last_event_id")
			}
			var types map[string]bool
			if ts := r.URL.Query().Get("types"); ts != "" {
				types = map[string]bool{}
				for _, x := range strings.Split(ts, ",") {
					types[strings.TrimSpace(x)] = true
				}
			}
			filter := func(ctx context.Context, ev web.Event) (json.RawMessage, error) {
				ds := datasets[ev.Type]
				if ds == "" {
					return ev.Data, nil
				}
				var v any
				if err := json.Unmarshal(ev.Data, &v); err != nil {
					return nil, err
				}
				out, err := a.api.Filter(r, ds, v)
				if err != nil {
					return nil, err
				}
				return json.Marshal(out)
			}
			return hub.Stream(r.Context(), sseWriter{w, rc}, last, types, filter)
		},
	})
	a.api.Mount(dashboardRoutes(a)...)
	a.api.MountHandler("/", web.Handler())
	return nil
}

type sseWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
}

func (s sseWriter) Flush() error { return s.rc.Flush() }
