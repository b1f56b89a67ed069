package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/access"
	"github.com/citybrain/citybrain/internal/httpapi"
	"github.com/citybrain/citybrain/internal/store/storetest"
	"github.com/prometheus/client_golang/prometheus"
)

func newServer(t *testing.T) (*httpapi.Server, http.Handler) {
	db := storetest.SQLite(t)
	acc := access.NewService(db, citybrain.SystemClock{}, access.Config{BootstrapToken: "boot"})
	if _, err := acc.Bootstrap(context.Background(), "admin-password"); err != nil {
		t.Fatal(err)
	}
	s := httpapi.New(httpapi.Config{DefaultMaxBody: 1024}, slog.New(slog.NewTextHandler(io.Discard, nil)), acc, prometheus.NewRegistry())
	s.Mount(httpapi.Route{Method: "GET", Path: "/api/v1/panic", Summary: "panics", Roles: []string{citybrain.RoleAdmin},
		Handle: func(w http.ResponseWriter, r *http.Request) error { panic("boom") }})
	return s, s.Handler()
}

type errBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func TestBadInputGetsClearClientErrors(t *testing.T) {
	_, h := newServer(t)
	cases := []struct {
		name, method, path, body, auth string
		status                         int
		code                           string
	}{
		{"malformed json", "POST", "/api/v1/users", `{"username": "a",`, "boot", 400, citybrain.EINVALID},
		{"wrong type", "POST", "/api/v1/users", `{"username": 5}`, "boot", 400, citybrain.EINVALID},
		{"unknown field", "POST", "/api/v1/users", `{"usernme": "x"}`, "boot", 400, citybrain.EINVALID},
		{"trailing data", "POST", "/api/v1/users", `{"username":"abc","password":"12345678","role":"citizen"} {}`, "boot", 400, citybrain.EINVALID},
		{"empty body", "POST", "/api/v1/users", ``, "boot", 400, citybrain.EINVALID},
		{"oversized", "POST", "/api/v1/users", `{"display_name":"` + strings.Repeat("长", 20000) + `"}`, "boot", 413, citybrain.ETOOLARGE},
		{"bad role", "POST", "/api/v1/users", `{"username":"abc","password":"12345678","role":"king"}`, "boot", 400, citybrain.EINVALID},
		{"short password", "POST", "/api/v1/users", `{"username":"abc","password":"1","role":"citizen"}`, "boot", 400, citybrain.EINVALID},
		{"unknown id", "GET", "/api/v1/users/999", ``, "boot", 404, citybrain.ENOTFOUND},
		{"malformed id", "GET", "/api/v1/users/abc", ``, "boot", 404, citybrain.ENOTFOUND},
		{"bad limit", "GET", "/api/v1/users?limit=0", ``, "boot", 400, citybrain.EINVALID},
		{"bad cursor", "GET", "/api/v1/users?cursor=!!!", ``, "boot", 400, citybrain.EINVALID},
		{"wrong token", "GET", "/api/v1/users", ``, "nope", 401, citybrain.EUNAUTHORIZED},
		{"bad scheme", "GET", "/api/v1/users", ``, "", 401, citybrain.EUNAUTHORIZED},
		{"unknown route", "GET", "/api/v1/nothing", ``, "boot", 404, citybrain.ENOTFOUND},
		{"panic is 500 not a crash", "GET", "/api/v1/panic", ``, "boot", 500, citybrain.EINTERNAL},
		{"bad ttl", "POST", "/api/v1/tokens", `{"ttl":"forever"}`, "boot", 400, citybrain.EINVALID},
		{"xml body", "POST", "/api/v1/tokens", `<x/>`, "boot", 415, citybrain.EUNSUPPORTED},
		{"array for an object", "POST", "/api/v1/users", `[]`, "boot", 400, citybrain.EINVALID},
		{"null body", "POST", "/api/v1/tokens", ` null`, "boot", 400, citybrain.EINVALID},
		{"wrong method", "PUT", "/api/v1/users", `{}`, "boot", 405, "method_not_allowed"},
		{"wrong method on an id", "DELETE", "/api/v1/users/1", ``, "boot", 405, "method_not_allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.name == "xml body" {
				req.Header.Set("Content-Type", "application/xml")
			} else {
				req.Header.Set("Content-Type", "application/json")
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", "Bearer "+tc.auth)
			} else {
				req.Header.Set("Authorization", "Basic Zm9vOmJhcg==")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d want %d: %s", rec.Code, tc.status, rec.Body)
			}
			var b errBody
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
				t.Fatalf("not the error shape: %s", rec.Body)
			}
			if b.Error.Code != tc.code || b.Error.Message == "" {
				t.Fatalf("error %+v want code %s", b.Error, tc.code)
			}
		})
	}
}

func TestLoginThrottling(t *testing.T) {
	_, h := newServer(t)
	var last int
	for i := 0; i < 8; i++ {
		req := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader(`{"username":"admin","password":"guess-`+string(rune('a'+i))+`"}`))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		last = rec.Code
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("after 8 wrong passwords got %d, want 429", last)
	}
	// Even the right password is refused while throttled.
	req := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader(`{"username":"admin","password":"admin-password"}`))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("right password while throttled: %d", rec.Code)
	}
}

func TestMetricsAndHealth(t *testing.T) {
	_, h := newServer(t)
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/api/v1/me"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if rec.Code != 200 && p != "/api/v1/me" {
			t.Errorf("%s: %d", p, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), "citybrain_http_requests_total") {
		t.Error("request counter missing from /metrics")
	}
}

// A known path with an unknown method is 405 with an Allow header naming the methods it takes;
// a path no route has stays 404.
func TestWrongMethodIs405WithAllow(t *testing.T) {
	_, h := newServer(t)
	cases := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"PUT", "/api/v1/users", 405, "GET, POST"},
		{"DELETE", "/api/v1/users/7", 405, "GET, PATCH"},
		{"POST", "/api/v1/openapi.json", 405, "GET"},
		{"DELETE", "/api/v1/users/7/nothing", 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			req.Header.Set("Authorization", "Bearer boot")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status || rec.Header().Get("Allow") != tc.allow {
				t.Fatalf("got %d Allow %q, want %d Allow %q: %s", rec.Code, rec.Header().Get("Allow"), tc.status, tc.allow, rec.Body)
			}
			var b errBody
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.Error.Message == "" {
				t.Fatalf("not the error shape: %s", rec.Body)
			}
		})
	}
}

// Times a client sends must come back as RFC 3339: epoch milliseconds outside the years
// 1–9999 are the client's mistake (they used to reach the encoder and fail as a 500).
func TestParseTimeRange(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{"1795854718837", true},
		{"0", true},
		{"2026-11-28T08:00:00+08:00", true},
		{"2026-11-28T08:00:00 08:00", true}, // the '+' of an unencoded query string
		{"2026-11-28 08:00:00", false},
		{"253402300799999", true},
		{"253402300800000", false},
		{"-99999999999999999", false},
		{"99999999999999999", false},
		{"yesterday", false},
	}
	for _, tc := range cases {
		_, err := httpapi.ParseTime("from", tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseTime(%q) error %v, want ok=%v", tc.in, err, tc.ok)
		}
		if err != nil && citybrain.ErrorCode(err) != citybrain.EINVALID {
			t.Errorf("ParseTime(%q) code %s, want invalid", tc.in, citybrain.ErrorCode(err))
		}
	}
}
