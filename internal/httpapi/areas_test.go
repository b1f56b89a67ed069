package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/access"
	"github.com/citybrain/citybrain/internal/area"
	"github.com/citybrain/citybrain/internal/httpapi"
	"github.com/citybrain/citybrain/internal/store/storetest"
	"github.com/prometheus/client_golang/prometheus"
)

// newAreaServer serves the area routes over a real SQLite store holding the demo
// district; it returns the handler, the admin (bootstrap) token and a citizen token.
func newAreaServer(t *testing.T) (http.Handler, *area.Service, string) {
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
	svc := area.NewService(db, time.Now)
	if _, err := svc.EnsureDemo(ctx); err != nil {
		t.Fatal(err)
	}
	s := httpapi.New(httpapi.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)), acc, prometheus.NewRegistry())
	s.Mount(httpapi.AreaRoutes(s, svc)...)
	return s.Handler(), svc, citizen
}

func call(t *testing.T, h http.Handler, method, path, token, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAreaRoutesRead(t *testing.T) {
	h, svc, citizen := newAreaServer(t)
	m := svc.Map()
	grid := m.ByLevel(area.LevelGrid)[42]

	t.Run("list streets in pages", func(t *testing.T) {
		var codes []string
		cursor := ""
		for page := 0; page < 10; page++ {
			rec := call(t, h, "GET", "/api/v1/areas?level=street&limit=5&cursor="+cursor, citizen, "")
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			var p httpapi.Page[httpapi.AreaSummary]
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			for _, it := range p.Items {
				if it.Level != area.LevelStreet || it.NameZH == "" || it.Centroid == (area.Point{}) {
					t.Fatalf("item %+v", it)
				}
				codes = append(codes, it.Code)
			}
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		if len(codes) != 14 {
			t.Fatalf("%d streets over all pages: %v", len(codes), codes)
		}
	})
	t.Run("children of a community", func(t *testing.T) {
		rec := call(t, h, "GET", "/api/v1/areas?parent="+grid.Parent, citizen, "")
		var p httpapi.Page[httpapi.AreaSummary]
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &p) != nil || len(p.Items) != len(m.Children(grid.Parent)) {
			t.Fatalf("status %d, %d items: %s", rec.Code, len(p.Items), rec.Body)
		}
	})
	t.Run("one grid", func(t *testing.T) {
		rec := call(t, h, "GET", "/api/v1/areas/"+grid.Code, citizen, "")
		var d httpapi.AreaDetail
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &d) != nil {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if d.Code != grid.Code || len(d.Path) != 3 || d.Path[0].Level != area.LevelDistrict || len(d.Children) != 0 || d.Geometry.Type != "Polygon" {
			t.Fatalf("detail %+v", d.AreaSummary)
		}
	})
	t.Run("simplified layer", func(t *testing.T) {
		rec := call(t, h, "GET", "/api/v1/areas/geojson?level=grid", citizen, "")
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/geo+json") {
			t.Fatalf("status %d type %q", rec.Code, rec.Header().Get("Content-Type"))
		}
		var fc struct {
			Type     string            `json:"type"`
			Features []json.RawMessage `json:"features"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &fc); err != nil || fc.Type != "FeatureCollection" || len(fc.Features) != m.Count(area.LevelGrid) {
			t.Fatalf("%v: %q with %d features", err, fc.Type, len(fc.Features))
		}
		full := call(t, h, "GET", "/api/v1/areas/geojson?level=grid&full=true", citizen, "")
		if full.Code != 200 || full.Body.Len() <= rec.Body.Len() {
			t.Fatalf("full layer %d bytes, simplified %d", full.Body.Len(), rec.Body.Len())
		}
	})
	t.Run("locate", func(t *testing.T) {
		rec := call(t, h, "GET", fmt.Sprintf("/api/v1/areas/locate?lon=%v&lat=%v", grid.Centroid[0], grid.Centroid[1]), citizen, "")
		var l httpapi.AreaLocation
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &l) != nil {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if !l.Found || l.Location.Grid != grid.Code || l.Location.Community != grid.Parent || len(l.Areas) != 4 || l.Areas[3].Code != grid.Code {
			t.Fatalf("locate %+v", l)
		}
		rec = call(t, h, "GET", "/api/v1/areas/locate?lon=0&lat=0", citizen, "")
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &l) != nil || l.Found || len(l.Areas) != 0 {
			t.Fatalf("outside: %d %s", rec.Code, rec.Body)
		}
	})
}

func TestAreaRoutesBadInput(t *testing.T) {
	h, _, citizen := newAreaServer(t)
	tests := []struct {
		name, method, path, token, body string
		status                          int
		field                           string
	}{
		{"bad level", "GET", "/api/v1/areas?level=city", citizen, "", 400, "level"},
		{"unknown parent", "GET", "/api/v1/areas?parent=999", citizen, "", 404, ""},
		{"bad limit", "GET", "/api/v1/areas?limit=5000", citizen, "", 400, "limit"},
		{"unknown area", "GET", "/api/v1/areas/999", citizen, "", 404, ""},
		{"layer bad level", "GET", "/api/v1/areas/geojson?level=province", citizen, "", 400, "level"},
		{"layer bad full", "GET", "/api/v1/areas/geojson?full=maybe", citizen, "", 400, "full"},
		{"locate without lat", "GET", "/api/v1/areas/locate?lon=117.2", citizen, "", 400, "lat"},
		{"locate lat out of range", "GET", "/api/v1/areas/locate?lon=117.2&lat=139", citizen, "", 400, "lat"},
		{"locate lon not a number", "GET", "/api/v1/areas/locate?lon=east&lat=39", citizen, "", 400, "lon"},
		{"locate NaN", "GET", "/api/v1/areas/locate?lon=NaN&lat=39", citizen, "", 400, "lon"},
		{"import by a citizen", "POST", "/api/v1/areas/import", citizen, `{}`, 403, ""},
		{"import not GeoJSON", "POST", "/api/v1/areas/import", "boot", `{"type":"Feature"}`, 400, "type"},
		{"import truncated", "POST", "/api/v1/areas/import", "boot", `{"type":"FeatureCollection","features":[`, 400, ""},
		{"anonymous", "GET", "/api/v1/areas", "", "", 401, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := call(t, h, tc.method, tc.path, tc.token, tc.body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			var e struct {
				Error httpapi.ErrorDetail `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Message == "" || e.Error.Field != tc.field {
				t.Fatalf("error body %s (field want %q)", rec.Body, tc.field)
			}
		})
	}
}

func TestAreaImportRoute(t *testing.T) {
	h, svc, citizen := newAreaServer(t)
	small := []area.Area{
		{Code: "130102", Level: area.LevelDistrict, NameZH: "测试区", NameEN: "Test District",
			Boundary: area.Boundary{area.Polygon{{{114.5, 38}, {114.6, 38}, {114.6, 38.1}, {114.5, 38.1}, {114.5, 38}}}}},
		{Code: "130102001", Parent: "130102", Level: area.LevelStreet, NameZH: "测试街道", NameEN: "Test Street",
			Boundary: area.Boundary{area.Polygon{{{114.5, 38}, {114.6, 38}, {114.6, 38.1}, {114.5, 38.1}, {114.5, 38}}}}},
	}
	var buf bytes.Buffer
	if err := area.EncodeGeoJSON(&buf, small); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	bad := strings.Replace(good, `[114.5,38.1],[114.5,38]]`, `[114.5,38.1]]`, 1)
	rec := call(t, h, "POST", "/api/v1/areas/import", "boot", bad)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "130102") || !strings.Contains(rec.Body.String(), "not closed") {
		t.Fatalf("invalid file: %d %s", rec.Code, rec.Body)
	}
	if svc.Map().Count(area.LevelGrid) == 0 {
		t.Fatal("a refused import changed the map")
	}
	rec = call(t, h, "POST", "/api/v1/areas/import", "boot", good)
	var res httpapi.AreaImportResult
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &res) != nil || res.Districts != 1 || res.Streets != 1 || res.Grids != 0 || res.Version < 2 {
		t.Fatalf("import: %d %s", rec.Code, rec.Body)
	}
	rec = call(t, h, "GET", "/api/v1/areas/locate?lon=114.55&lat=38.05", citizen, "")
	var l httpapi.AreaLocation
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &l) != nil || l.Location.Street != "130102001" {
		t.Fatalf("after import: %d %s", rec.Code, rec.Body)
	}
}
