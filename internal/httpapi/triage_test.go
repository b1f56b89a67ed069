package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/access"
	"github.com/citybrain/citybrain/internal/httpapi"
	"github.com/citybrain/citybrain/internal/store/storetest"
	"github.com/citybrain/citybrain/internal/triage"
	"github.com/prometheus/client_golang/prometheus"
)

func TestTriageRoutes(t *testing.T) {
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
	cl, err := triage.New()
	if err != nil {
		t.Fatal(err)
	}
	s := httpapi.New(httpapi.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)), acc, prometheus.NewRegistry())
	s.Mount(httpapi.TriageRoutes(s, cl, triage.NewWriter(cl.Taxonomy(), nil, triage.ModelOptions{}))...)
	h := s.Handler()

	cases := []struct {
		name, path, token, body string
		status                  int
		want                    string
	}{
		{"classify", "/api/v1/triage/classify", "boot", `{"text":"小区门口下水道堵了，污水漫到路上"}`, 200, `"category":"DRAINAGE"`},
		{"classify empty", "/api/v1/triage/classify", "boot", `{"text":"  "}`, 400, "text"},
		{"classify unknown field", "/api/v1/triage/classify", "boot", `{"txt":"x"}`, 400, ""},
		{"citizen refused", "/api/v1/triage/classify", citizen, `{"text":"路灯不亮"}`, 403, ""},
		{"anonymous refused", "/api/v1/triage/classify", "", `{"text":"路灯不亮"}`, 401, ""},
		{"reply", "/api/v1/triage/reply", "boot", `{"state":"accepted","category":"ROAD","tracking_no":"HX-1"}`, 200, "HX-1"},
		{"reply bad state", "/api/v1/triage/reply", "boot", `{"state":"nope","category":"ROAD","tracking_no":"HX-1"}`, 400, "state"},
		{"brief", "/api/v1/triage/brief", "boot", `{"date":"2026-11-28T00:00:00+08:00","area":"河西区","today":{"new":5,"closed":4,"overdue":1},"open":9}`, 200, "河西区城市运行日报"},
		{"brief without date", "/api/v1/triage/brief", "boot", `{"area":"河西区"}`, 400, "date"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := call(t, h, http.MethodPost, tc.path, tc.token, tc.body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body.String())
			}
			if tc.want != "" && !strings.Contains(rec.Body.String(), tc.want) {
				t.Errorf("body lacks %s: %s", tc.want, rec.Body.String())
			}
			if tc.status == 200 && !json.Valid(rec.Body.Bytes()) {
				t.Errorf("invalid JSON")
			}
		})
	}
}
