package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/access"
	"github.com/citybrain/citybrain/internal/httpapi"
)

// testApp wires the whole platform in-process on a temporary SQLite store.
func testApp(t *testing.T) *app {
	t.Helper()
	cfg := &config{Data: t.TempDir(), HTTP: "127.0.0.1:0", MQTT: "127.0.0.1:0", MQTTTLSAddr: "127.0.0.1:0", LogLevel: "error", MaxPayload: 64 << 10,
		AdminPassword: "admin-password-1", AdminToken: "bootstrap-token-for-tests"}
	a, err := start(context.Background(), cfg, false, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	return a
}

var pathVar = regexp.MustCompile(`\{[^}]+\}`)

func concretePath(p string) string {
	p = strings.TrimSuffix(p, "{$}")
	return pathVar.ReplaceAllString(p, "1")
}

// TestEveryRouteRefusesAnonymousAndWrongRole enumerates every mounted API route: an
// anonymous request is refused with 401, and where the route names roles, a signed-in user of
// another role is refused with 403 — before any handler runs.
func TestEveryRouteRefusesAnonymousAndWrongRole(t *testing.T) {
	a := testApp(t)
	h := a.api.Handler()
	ctx := context.Background()
	// One token per role.
	tokens := map[string]string{}
	for _, role := range citybrain.Roles() {
		in := access.NewUser{Username: "u-" + role, Password: "password-" + role, Role: role, Department: "WATER", Area: "110101001"}
		u, err := a.access.CreateUser(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		_, secret, err := a.access.CreateToken(ctx, u.ID, "t", 0)
		if err != nil {
			t.Fatal(err)
		}
		tokens[role] = secret
	}
	routes := a.api.Routes()
	if len(routes) < 10 {
		t.Fatalf("only %d routes mounted", len(routes))
	}
	for _, rt := range routes {
		name := rt.Method + " " + rt.Path
		path := concretePath(rt.Path)
		do := func(token string) int {
			req := httptest.NewRequest(rt.Method, path, bytes.NewReader([]byte("{}")))
			req.Header.Set("Content-Type", "application/json")
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec.Code
		}
		switch rt.Auth {
		case httpapi.AuthPublic, httpapi.AuthOptional:
			continue
		case httpapi.AuthDevice:
			if code := do(""); code != http.StatusUnauthorized {
				t.Errorf("%s: anonymous device request got %d, want 401", name, code)
			}
			if code := do(tokens[citybrain.RoleAdmin]); code != http.StatusUnauthorized && code != http.StatusForbidden {
				t.Errorf("%s: a user token instead of device credentials got %d, want 401/403", name, code)
			}
			continue
		}
		if code := do(""); code != http.StatusUnauthorized {
			t.Errorf("%s: anonymous request got %d, want 401", name, code)
		}
		if code := do("cbt_wrong"); code != http.StatusUnauthorized {
			t.Errorf("%s: wrong token got %d, want 401", name, code)
		}
		if len(rt.Roles) == 0 {
			continue
		}
		for _, role := range citybrain.Roles() {
			if (&citybrain.Actor{Role: role}).Is(rt.Roles...) {
				continue
			}
			if code := do(tokens[role]); code != http.StatusForbidden {
				t.Errorf("%s: role %s got %d, want 403", name, role, code)
			}
		}
	}
}

// TestOpenAPIMatchesRoutes checks the served OpenAPI document lists every mounted route with a summary.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	a := testApp(t)
	rec := httptest.NewRecorder()
	a.api.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
	if rec.Code != 200 {
		t.Fatalf("openapi: %d", rec.Code)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	n := 0
	for _, rt := range a.api.Routes() {
		op := doc.Paths[rt.Path][strings.ToLower(rt.Method)]
		if op == nil {
			t.Errorf("%s %s missing from openapi.json", rt.Method, rt.Path)
			continue
		}
		if s, _ := op["summary"].(string); s == "" {
			t.Errorf("%s %s has no summary", rt.Method, rt.Path)
		}
		n++
	}
	count := 0
	for _, ops := range doc.Paths {
		count += len(ops)
	}
	if count != n {
		t.Errorf("openapi has %d operations, the server mounts %d routes", count, n)
	}
}
