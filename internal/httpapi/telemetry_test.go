package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/access"
	"github.com/citybrain/citybrain/internal/httpapi"
	"github.com/citybrain/citybrain/internal/store/storetest"
	"github.com/citybrain/citybrain/internal/telemetry"
	"github.com/prometheus/client_golang/prometheus"
)

// testDirectory is a fixed device directory (the registry's role in production).
type testDirectory map[string]telemetry.Member

func (d testDirectory) Member(_ context.Context, id string) (telemetry.Member, error) {
	m, ok := d[id]
	if !ok {
		return m, citybrain.Errorf(citybrain.ENOTFOUND, "device %q not found", id)
	}
	return m, nil
}

func (d testDirectory) Members(_ context.Context, profile string) ([]telemetry.Member, error) {
	var out []telemetry.Member
	for _, m := range d {
		if profile == "" || m.Profile == profile {
			out = append(out, m)
		}
	}
	return out, nil
}

func (d testDirectory) GroupName(by, key string) string {
	if by == telemetry.GroupStreet {
		return map[string]string{"S1": "人民路街道", "S2": "解放路街道"}[key]
	}
	return ""
}

// tt0 is 2026-11-28T00:00:00Z.
const tt0 = int64(1795824000000)

func newTelemetryServer(t *testing.T) (http.Handler, string) {
	t.Helper()
	ctx := context.Background()
	db := storetest.SQLite(t)
	acc := access.NewService(db, citybrain.SystemClock{}, access.Config{BootstrapToken: "boot"})
	if _, err := acc.Bootstrap(ctx, "admin-password"); err != nil {
		t.Fatal(err)
	}
	u, err := acc.CreateUser(ctx, access.NewUser{Username: "citizen1", Password: "password-citizen", Role: citybrain.RoleCitizen})
	if err != nil {
		t.Fatal(err)
	}
	_, citizen, err := acc.CreateToken(ctx, u.ID, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	now := time.UnixMilli(tt0 + 3*3600_000)
	svc, err := telemetry.Open(ctx, db, telemetry.Options{Now: func() time.Time { return now }, MaintainEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	dir := testDirectory{
		"aq-1": {DeviceID: "aq-1", Profile: "air_quality", District: "D", Street: "S1", Community: "C1"},
		"aq-2": {DeviceID: "aq-2", Profile: "air_quality", District: "D", Street: "S1", Community: "C2"},
		"aq-3": {DeviceID: "aq-3", Profile: "air_quality", District: "D", Street: "S2", Community: "C3"},
		"wl-1": {DeviceID: "wl-1", Profile: "waterlogging", District: "D", Street: "S2"},
	}
	// Two hours of one-minute PM2.5: aq-1 reads 10, aq-2 30, aq-3 the minute index.
	var rs []telemetry.Reading
	for i := int64(0); i < 120; i++ {
		ts := tt0 + i*60_000
		rs = append(rs,
			telemetry.Reading{DeviceID: "aq-1", Measurement: "pm25", TS: ts, Value: 10},
			telemetry.Reading{DeviceID: "aq-2", Measurement: "pm25", TS: ts, Value: 30},
			telemetry.Reading{DeviceID: "aq-3", Measurement: "pm25", TS: ts, Value: float64(i)},
			telemetry.Reading{DeviceID: "wl-1", Measurement: "pm25", TS: ts, Value: 1000},
		)
	}
	rs = append(rs, telemetry.Reading{DeviceID: "aq-1", Measurement: "battery", TS: tt0 + 5000, Value: 87})
	if err := svc.Append(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if err := svc.Compact(ctx); err != nil { // the first hours move to chunks and rollups
		t.Fatal(err)
	}
	s := httpapi.New(httpapi.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)), acc, prometheus.NewRegistry())
	s.Mount(httpapi.TelemetryRoutes(s, svc, dir, func() time.Time { return now })...)
	return s.Handler(), citizen
}

func TestTelemetryRoutes(t *testing.T) {
	h, citizen := newTelemetryServer(t)
	from, to := "2026-11-28T00:00:00Z", "2026-11-28T02:00:00Z"
	cases := []struct {
		name, path, token string
		status            int
		check             func(t *testing.T, body string)
	}{
		{"latest", "/api/v1/devices/aq-1/telemetry/latest", "boot", 200, func(t *testing.T, body string) {
			var rep httpapi.LatestReply
			mustJSON(t, body, &rep)
			if rep.Measurements["pm25"].Value != 10 || rep.Measurements["pm25"].TS != tt0+119*60_000 || rep.Measurements["battery"].Value != 87 {
				t.Fatalf("latest %+v", rep)
			}
			if rep.LastSeen == nil || rep.LastSeen.UnixMilli() != tt0+119*60_000 {
				t.Fatalf("last_seen %v", rep.LastSeen)
			}
		}},
		{"latest unknown device", "/api/v1/devices/nope/telemetry/latest", "boot", 404, nil},
		{"latest citizen refused", "/api/v1/devices/aq-1/telemetry/latest", citizen, 403, nil},
		{"raw points epoch ms", "/api/v1/devices/aq-3/telemetry/pm25?from=1795824000000&to=1795824600000", "boot", 200, func(t *testing.T, body string) {
			var rep httpapi.SeriesReply
			mustJSON(t, body, &rep)
			if len(rep.Points) != 10 || rep.Points[9].Value != 9 || rep.Step != "" {
				t.Fatalf("points %+v", rep)
			}
		}},
		{"hourly max RFC 3339", "/api/v1/devices/aq-3/telemetry/pm25?from=" + from + "&to=" + to + "&step=1h&agg=max", "boot", 200, func(t *testing.T, body string) {
			var rep httpapi.SeriesReply
			mustJSON(t, body, &rep)
			if len(rep.Points) != 2 || rep.Points[0].Value != 59 || rep.Points[1].Value != 119 || rep.Agg != "max" {
				t.Fatalf("points %+v", rep)
			}
		}},
		{"default range is the last 24 h", "/api/v1/devices/aq-3/telemetry/pm25?step=1d&agg=count", "boot", 200, func(t *testing.T, body string) {
			var rep httpapi.SeriesReply
			mustJSON(t, body, &rep)
			if len(rep.Points) != 1 || rep.Points[0].Value != 120 {
				t.Fatalf("points %+v", rep)
			}
		}},
		{"csv", "/api/v1/devices/aq-3/telemetry/pm25?from=" + from + "&to=" + to + "&step=1h&agg=sum&format=csv", "boot", 200, func(t *testing.T, body string) {
			want := "\ufeffdevice_id,measurement,ts,time,value\naq-3,pm25,1795824000000,2026-11-28T00:00:00Z,1770\naq-3,pm25,1795827600000,2026-11-28T01:00:00Z,5370\n"
			if body != want {
				t.Fatalf("csv:\n%q\nwant\n%q", body, want)
			}
		}},
		{"bad from", "/api/v1/devices/aq-3/telemetry/pm25?from=yesterday", "boot", 400, wantField("from")},
		{"from after to", "/api/v1/devices/aq-3/telemetry/pm25?from=" + to + "&to=" + from, "boot", 400, wantField("from")},
		{"bad step", "/api/v1/devices/aq-3/telemetry/pm25?step=fast", "boot", 400, wantField("step")},
		{"tiny step", "/api/v1/devices/aq-3/telemetry/pm25?step=1ms", "boot", 400, wantField("step")},
		{"agg without step", "/api/v1/devices/aq-3/telemetry/pm25?agg=avg", "boot", 400, wantField("step")},
		{"bad agg", "/api/v1/devices/aq-3/telemetry/pm25?step=1h&agg=median", "boot", 400, wantField("agg")},
		{"bad format", "/api/v1/devices/aq-3/telemetry/pm25?format=xml", "boot", 400, wantField("format")},
		{"unknown device history", "/api/v1/devices/nope/telemetry/pm25", "boot", 404, nil},
		{"per-street hourly average", "/api/v1/telemetry/aggregate?measurement=pm25&profile=air_quality&group=street&from=" + from + "&to=" + to + "&step=1h", "boot", 200, func(t *testing.T, body string) {
			var rep httpapi.AggregateReply
			mustJSON(t, body, &rep)
			if len(rep.Groups) != 2 || rep.Groups[0].Key != "S1" || rep.Groups[0].Name != "人民路街道" || rep.Groups[0].Devices != 2 {
				t.Fatalf("groups %+v", rep.Groups)
			}
			if p := rep.Groups[0].Points; len(p) != 2 || p[0].Value != 20 || p[1].Value != 20 {
				t.Fatalf("S1 points %+v", p)
			}
			if p := rep.Groups[1].Points; len(p) != 2 || p[0].Value != 29.5 || p[1].Value != 89.5 {
				t.Fatalf("S2 points %+v (the waterlogging sensor must be left out)", p)
			}
		}},
		{"per-profile inside an area", "/api/v1/telemetry/aggregate?measurement=pm25&group=profile&area=S2&from=" + from + "&to=" + to + "&step=2h&agg=max", "boot", 200, func(t *testing.T, body string) {
			var rep httpapi.AggregateReply
			mustJSON(t, body, &rep)
			if len(rep.Groups) != 2 || rep.Groups[0].Key != "air_quality" || rep.Groups[0].Points[0].Value != 119 || rep.Groups[1].Points[0].Value != 1000 {
				t.Fatalf("groups %+v", rep.Groups)
			}
		}},
		{"aggregate csv", "/api/v1/telemetry/aggregate?measurement=pm25&group=community&profile=air_quality&from=" + from + "&to=" + to + "&step=2h&format=csv", "boot", 200, func(t *testing.T, body string) {
			want := "\ufeffgroup,name,devices,ts,time,value\nC1,,1,1795824000000,2026-11-28T00:00:00Z,10\nC2,,1,1795824000000,2026-11-28T00:00:00Z,30\nC3,,1,1795824000000,2026-11-28T00:00:00Z,59.5\n"
			if body != want {
				t.Fatalf("csv:\n%q\nwant\n%q", body, want)
			}
		}},
		{"aggregate without measurement", "/api/v1/telemetry/aggregate?group=street", "boot", 400, wantField("measurement")},
		{"aggregate bad group", "/api/v1/telemetry/aggregate?measurement=pm25&group=city", "boot", 400, wantField("group")},
		{"aggregate nobody matches", "/api/v1/telemetry/aggregate?measurement=pm25&profile=smoke", "boot", 200, func(t *testing.T, body string) {
			var rep httpapi.AggregateReply
			mustJSON(t, body, &rep)
			if rep.Groups == nil || len(rep.Groups) != 0 {
				t.Fatalf("groups %+v", rep.Groups)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := call(t, h, "GET", c.path, c.token, "")
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			if c.check != nil {
				c.check(t, rec.Body.String())
			}
		})
	}
}

func mustJSON(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
}

func wantField(field string) func(t *testing.T, body string) {
	return func(t *testing.T, body string) {
		t.Helper()
		var e struct {
			Error httpapi.ErrorDetail `json:"error"`
		}
		mustJSON(t, body, &e)
		if e.Error.Code != citybrain.EINVALID || e.Error.Field != field || !strings.Contains(body, field) {
			t.Fatalf("error %+v, want invalid field %q", e.Error, field)
		}
	}
}

func TestParseStep(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, true}, {"1m", time.Minute, true}, {"90s", 90 * time.Second, true}, {"1h", time.Hour, true},
		{"7d", 7 * 24 * time.Hour, true}, {"0s", 0, false}, {"-1h", 0, false}, {"1.5d", 0, false}, {"500ms", 0, false}, {"x", 0, false},
		// bare numbers are milliseconds, like the epoch-millisecond from/to
		{"60000", time.Minute, true}, {"3600000", time.Hour, true}, {"999", 0, false}, {"0", 0, false}, {"-60000", 0, false},
	}
	for _, c := range cases {
		got, err := httpapi.ParseStep(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseStep(%q) = %v, %v", c.in, got, err)
		}
	}
}
