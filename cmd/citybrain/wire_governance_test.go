package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/access"
	"github.com/citybrain/citybrain/internal/governance"
)

// countingGuard wraps the governance Guard and counts the responses it filtered per dataset.
type countingGuard struct {
	inner *governance.Service
	mu    sync.Mutex
	calls map[string]int
}

func (g *countingGuard) Filter(ctx context.Context, actor *citybrain.Actor, dataset string, v any) (any, error) {
	g.mu.Lock()
	g.calls[dataset]++
	g.mu.Unlock()
	return g.inner.Filter(ctx, actor, dataset, v)
}

func (g *countingGuard) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, c := range g.calls {
		n += c
	}
	return n
}

// TestEveryDataRouteGoesThroughTheGuard walks every mounted GET route that declares a
// governance Dataset: the dataset must be in the catalog (an unknown one would fail
// closed), and every successful response must have passed through the Guard with the
// caller. It also proves that the Guard is the governance service, so the decisions in
// internal/governance are the ones applied.
func TestEveryDataRouteGoesThroughTheGuard(t *testing.T) {
	a := testApp(t)
	if a.governance == nil {
		t.Fatal("governance not wired")
	}
	g := &countingGuard{inner: a.governance, calls: map[string]int{}}
	a.api.SetGuard(g)
	h := a.api.Handler()
	ctx := context.Background()
	tokens := map[string]string{}
	for _, role := range citybrain.Roles() {
		u, err := a.access.CreateUser(ctx, access.NewUser{Username: "g-" + role, Password: "password-" + role, Role: role, Department: "WATER", Area: "110101001", Clearance: 3})
		if err != nil {
			t.Fatal(err)
		}
		_, secret, err := a.access.CreateToken(ctx, u.ID, "t", 0)
		if err != nil {
			t.Fatal(err)
		}
		tokens[role] = secret
	}
	checked := 0
	for _, rt := range a.api.Routes() {
		if rt.Dataset == "" {
			continue
		}
		if _, err := a.governance.Dataset(ctx, rt.Dataset); err != nil {
			t.Errorf("%s %s: dataset %q is not in the governance catalog: %v", rt.Method, rt.Path, rt.Dataset, err)
			continue
		}
		if rt.Method != http.MethodGet || strings.Contains(rt.Path, "{") {
			continue // needs a real id or a body; covered by the packages' own tests
		}
		role := citybrain.RoleAdmin
		if len(rt.Roles) > 0 {
			role = rt.Roles[0]
		}
		before := g.count()
		req := httptest.NewRequest(rt.Method, rt.Path, nil)
		req.Header.Set("Authorization", "Bearer "+tokens[role])
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rt.Raw {
			continue
		}
		checked++
		if g.count() == before {
			t.Errorf("%s %s (dataset %s) answered 200 without passing the Guard", rt.Method, rt.Path, rt.Dataset)
		}
	}
	if checked < 3 {
		t.Fatalf("only %d data routes answered 200; the walk proves too little", checked)
	}
	t.Logf("%d data routes checked; guard calls per dataset: %v", checked, g.calls)
}
