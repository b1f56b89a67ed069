package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/access"
	"github.com/citybrain/citybrain/internal/device"
	"github.com/citybrain/citybrain/internal/httpapi"
	"github.com/citybrain/citybrain/internal/ingest"
	"github.com/citybrain/citybrain/internal/store/storetest"
	"github.com/citybrain/citybrain/internal/telemetry"
)

type readings struct {
	mu sync.Mutex
	rs []telemetry.Reading
}

func (w *readings) Append(_ context.Context, rs []telemetry.Reading) error {
	w.mu.Lock()
	w.rs = append(w.rs, rs...)
	w.mu.Unlock()
	return nil
}

type deviceAPI struct {
	t *testing.T
	h http.Handler
	w *readings
}

func (a deviceAPI) do(method, path, body string, auth func(*http.Request), out any) int {
	a.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != nil {
		auth(req)
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	if out != nil && rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			a.t.Fatalf("%s %s: %v: %s", method, path, err, rec.Body.String())
		}
	}
	return rec.Code
}

func bearer(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func basic(u, p string) func(*http.Request) { return func(r *http.Request) { r.SetBasicAuth(u, p) } }

func newDeviceAPI(t *testing.T) deviceAPI {
	db := storetest.SQLite(t)
	acc := access.NewService(db, citybrain.SystemClock{}, access.Config{BootstrapToken: "boot"})
	if _, err := acc.Bootstrap(context.Background(), "admin-password"); err != nil {
		t.Fatal(err)
	}
	s := httpapi.New(httpapi.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)), acc, prometheus.NewRegistry())
	ps, err := device.BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	reg := device.NewService(db, ps, device.NewCredentialCache(), device.NewStatusTracker(), nil)
	w := &readings{}
	lim := ingest.DefaultLimits()
	lim.MaxBytes = 4096
	in := ingest.New(w, db, ps, reg.Credentials(), reg.Status(), device.NewQuarantine(20), ingest.Config{Limits: lim})
	t.Cleanup(in.Close)
	s.SetDeviceAuth(in.AuthenticateDevice)
	areaAt := func(code, level string) (string, bool) { // g1, g2 are grids of street s1
		if level == "street" && (code == "g1" || code == "g2") {
			return "s1", true
		}
		return "", false
	}
	s.Mount(httpapi.DeviceRoutes(s, httpapi.DeviceDeps{Registry: reg, Ingest: in, Events: db, Quarantine: db, MQTTAddr: ":1883", MaxPayload: lim.MaxBytes, AreaAt: areaAt})...)
	return deviceAPI{t: t, h: s.Handler(), w: w}
}

func TestDeviceRoutes(t *testing.T) {
	a := newDeviceAPI(t)
	admin := bearer("boot")
	var created httpapi.DeviceCredentialsReply
	if code := a.do("POST", "/api/v1/devices", `{"id": "lvl-1", "profile": "drain_level", "area": "g1", "name": "下穿水位"}`, admin, &created); code != 201 {
		t.Fatalf("create: %d", code)
	}
	secret := created.MQTT.Password
	if secret == "" || created.MQTT.Username != "lvl-1" || created.MQTT.Port != 1883 || created.HTTP.Password != secret ||
		created.MQTT.Topics["telemetry"] != "devices/lvl-1/telemetry" || !strings.HasSuffix(created.HTTP.TelemetryURL, "/api/v1/devices/lvl-1/telemetry") {
		t.Fatalf("credentials %+v", created)
	}
	for i, body := range []string{`{"id": "aq-1", "profile": "air_quality", "area": "g2"}`, `{"id": "aq-2", "profile": "air_quality", "area": "g2"}`} {
		if code := a.do("POST", "/api/v1/devices", body, admin, nil); code != 201 {
			t.Fatalf("create %d: %d", i, code)
		}
	}
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	for _, c := range []struct {
		name, body string
		want       int
	}{
		{"no profile", `{"id": "x"}`, 400}, {"unknown profile", `{"id": "x", "profile": "ufo"}`, 400},
		{"duplicate", `{"id": "lvl-1", "profile": "noise"}`, 409}, {"unknown field", `{"id": "x", "profile": "noise", "colour": 1}`, 400},
	} {
		if code := a.do("POST", "/api/v1/devices", c.body, admin, &e); code != c.want {
			t.Fatalf("%s: %d %+v", c.name, code, e)
		}
	}

	// The device door.
	var res ingest.Result
	if code := a.do("POST", "/api/v1/devices/lvl-1/telemetry", `{"level_cm": 12.5, "battery": 87, "pm25": 3}`, basic("lvl-1", secret), &res); code != 200 ||
		res.Accepted != 2 || len(res.Rejected) != 1 {
		t.Fatalf("telemetry: %d %+v", code, res)
	}
	if code := a.do("POST", "/api/v1/devices/lvl-1/telemetry", `[{"ts": 1, "values": {"level_cm": 1}}]`, bearer(secret), &e); code != 400 || e.Error.Code != citybrain.EINVALID {
		t.Fatalf("seconds ts: %d %+v", code, e)
	}
	doorCases := []struct {
		name string
		path string
		body string
		auth func(*http.Request)
		want int
	}{
		{"bearer", "/api/v1/devices/lvl-1/telemetry", `{"level_cm": 13}`, bearer(secret), 200},
		{"wrong secret", "/api/v1/devices/lvl-1/telemetry", `{"level_cm": 13}`, basic("lvl-1", "nope"), 401},
		{"no credentials", "/api/v1/devices/lvl-1/telemetry", `{"level_cm": 13}`, nil, 401},
		{"other device", "/api/v1/devices/aq-1/telemetry", `{"pm25": 13}`, basic("lvl-1", secret), 403},
		{"admin token is not a device", "/api/v1/devices/lvl-1/telemetry", `{"level_cm": 13}`, admin, 401},
		{"malformed", "/api/v1/devices/lvl-1/telemetry", `{"level_cm": `, bearer(secret), 400},
		{"out of range", "/api/v1/devices/lvl-1/telemetry", `{"level_cm": 99999}`, bearer(secret), 400},
		{"too large", "/api/v1/devices/lvl-1/telemetry", `{"level_cm": 1, "x": "` + strings.Repeat("a", 5000) + `"}`, bearer(secret), 413},
		{"event", "/api/v1/devices/lvl-1/events", `{"type": "overflow_alarm"}`, bearer(secret), 200},
		{"unknown event", "/api/v1/devices/lvl-1/events", `{"type": "party"}`, bearer(secret), 400},
	}
	for _, c := range doorCases {
		t.Run(c.name, func(t *testing.T) {
			if code := a.do("POST", c.path, c.body, c.auth, nil); code != c.want {
				t.Fatalf("%d, want %d", code, c.want)
			}
		})
	}
	a.w.mu.Lock()
	stored := len(a.w.rs)
	a.w.mu.Unlock()
	if stored != 3 {
		t.Fatalf("%d readings stored, want 3", stored)
	}

	// Registry reads.
	var page httpapi.Page[httpapi.DeviceView]
	if code := a.do("GET", "/api/v1/devices?area=g2&limit=1", "", admin, &page); code != 200 || len(page.Items) != 1 || page.Items[0].ID != "aq-1" || page.NextCursor == "" {
		t.Fatalf("page 1: %d %+v", code, page)
	}
	if code := a.do("GET", "/api/v1/devices?area=g2&limit=1&cursor="+page.NextCursor, "", admin, &page); code != 200 || len(page.Items) != 1 || page.Items[0].ID != "aq-2" {
		t.Fatalf("page 2: %d %+v", code, page)
	}
	if code := a.do("GET", "/api/v1/devices?status=online", "", admin, &page); code != 200 || len(page.Items) != 1 || page.Items[0].ID != "lvl-1" {
		t.Fatalf("online: %d %+v", code, page)
	}
	var view httpapi.DeviceView
	if code := a.do("GET", "/api/v1/devices/lvl-1", "", admin, &view); code != 200 || view.Status.Battery == nil || *view.Status.Battery != 87 {
		t.Fatalf("get: %d %+v", code, view)
	}
	var q device.QuarantineReport
	if code := a.do("GET", "/api/v1/devices/lvl-1/quarantine", "", admin, &q); code != 200 || q.ByReason[device.ReasonOutOfRange] != 1 ||
		q.ByReason[device.ReasonBadSecret] != 2 || q.ByReason[device.ReasonTooLarge] != 1 || len(q.Recent) == 0 {
		t.Fatalf("quarantine: %d %+v", code, q)
	}
	var evs []device.Event
	if code := a.do("GET", "/api/v1/devices/lvl-1/events", "", admin, &evs); code != 200 || len(evs) != 1 || evs[0].Severity != "critical" {
		t.Fatalf("events: %d %+v", code, evs)
	}
	var h device.Health
	if code := a.do("GET", "/api/v1/health/devices", "", admin, &h); code != 200 || h.Total.Registered != 3 || h.Total.Online != 1 || h.Total.NeverSeen != 2 {
		t.Fatalf("health: %d %+v", code, h.Total)
	}
	if code := a.do("GET", "/api/v1/health/devices?level=street", "", admin, &h); code != 200 || len(h.ByArea) != 1 || h.ByArea[0].Area != "s1" || h.ByArea[0].Registered != 3 {
		t.Fatalf("health by street: %d %+v", code, h.ByArea)
	}
	if code := a.do("GET", "/api/v1/health/devices?level=planet", "", admin, nil); code != 400 {
		t.Fatalf("bad level: %d", code)
	}
	var prof httpapi.ProfilesReply
	if code := a.do("GET", "/api/v1/profiles", "", admin, &prof); code != 200 || len(prof.Profiles) < 21 || len(prof.FacilityKinds) == 0 {
		t.Fatalf("profiles: %d %d", code, len(prof.Profiles))
	}

	// Updates, disabling, rotation, deletion.
	if code := a.do("PATCH", "/api/v1/devices/lvl-1", `{"name": "改名", "lat": 39.1}`, admin, &view); code != 200 || view.Name != "改名" || view.Lat != 39.1 || view.Area != "g1" {
		t.Fatalf("patch: %d %+v", code, view)
	}
	if code := a.do("POST", "/api/v1/devices/lvl-1/disable", "", admin, &view); code != 200 || !view.Disabled || view.Status.State != device.StateDisabled {
		t.Fatalf("disable: %d %+v", code, view)
	}
	if code := a.do("POST", "/api/v1/devices/lvl-1/telemetry", `{"level_cm": 13}`, bearer(secret), nil); code != 403 {
		t.Fatalf("disabled device posted: %d", code)
	}
	if code := a.do("POST", "/api/v1/devices/lvl-1/enable", "", admin, nil); code != 200 {
		t.Fatalf("enable: %d", code)
	}
	var rotated httpapi.DeviceCredentialsReply
	if code := a.do("POST", "/api/v1/devices/lvl-1/credentials", "", admin, &rotated); code != 200 || rotated.MQTT.Password == secret {
		t.Fatalf("rotate: %d", code)
	}
	if code := a.do("POST", "/api/v1/devices/lvl-1/telemetry", `{"level_cm": 13}`, bearer(secret), nil); code != 401 {
		t.Fatalf("old secret: %d", code)
	}
	if code := a.do("POST", "/api/v1/devices/lvl-1/telemetry", `{"level_cm": 13}`, bearer(rotated.MQTT.Password), nil); code != 200 {
		t.Fatalf("new secret: %d", code)
	}
	if code := a.do("POST", "/api/v1/devices/lvl-1/commands", `{"name": "set_interval"}`, admin, &e); code != 503 {
		t.Fatalf("command without broker: %d", code)
	}
	if code := a.do("POST", "/api/v1/facilities", `{"id": "br-1", "kind": "bridge", "name": "解放桥", "area": "g1"}`, admin, nil); code != 201 {
		t.Fatalf("facility: %d", code)
	}
	if code := a.do("POST", "/api/v1/facilities", `{"id": "br-2", "kind": "spaceport", "name": "x"}`, admin, nil); code != 400 {
		t.Fatalf("bad facility kind: %d", code)
	}
	var fs []device.Facility
	if code := a.do("GET", "/api/v1/facilities?area=g1", "", admin, &fs); code != 200 || len(fs) != 1 {
		t.Fatalf("facilities: %d %+v", code, fs)
	}
	if code := a.do("DELETE", "/api/v1/devices/aq-2", "", admin, nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code := a.do("GET", "/api/v1/devices/aq-2", "", admin, nil); code != 404 {
		t.Fatalf("deleted device: %d", code)
	}
}
