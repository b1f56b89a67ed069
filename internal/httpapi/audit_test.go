package httpapi_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/access"
	"github.com/citybrain/citybrain/internal/audit"
	"github.com/citybrain/citybrain/internal/httpapi"
	"github.com/citybrain/citybrain/internal/store/storetest"
	"github.com/prometheus/client_golang/prometheus"
)

// newAuditServer serves the audit routes over a real SQLite store holding 30 entries; it returns
// the handler, the log, and tokens for an auditor and a department user.
func newAuditServer(t *testing.T) (http.Handler, *audit.Log, string, string) {
	t.Helper()
	ctx := context.Background()
	db := storetest.SQLite(t)
	acc := access.NewService(db, citybrain.SystemClock{}, access.Config{BootstrapToken: "boot"})
	if _, err := acc.Bootstrap(ctx, "admin-password"); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for _, role := range []string{citybrain.RoleAuditor, citybrain.RoleDept} {
		u, err := acc.CreateUser(ctx, access.NewUser{Username: role + "1", Password: "password-" + role, Role: role, Department: "mzj"})
		if err != nil {
			t.Fatal(err)
		}
		_, tok, err := acc.CreateToken(ctx, u.ID, "t", 0)
		if err != nil {
			t.Fatal(err)
		}
		tokens[role] = tok
	}
	keys, _, err := audit.GenerateKeys(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(ctx, audit.Config{Store: db, Keys: keys, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	for i := range 30 {
		if _, err := l.Record(ctx, audit.Entry{Actor: audit.Actor{UserID: int64(i%2 + 10), Username: fmt.Sprint("w", i%2)},
			Action: []string{audit.ActionRead, audit.ActionDeny}[i%2], Object: audit.Object{Dataset: "residents", Columns: []string{"手机号"}},
			Decision: []string{"FULL", "DENY"}[i%2], Purpose: "走访"}); err != nil {
			t.Fatal(err)
		}
	}
	s := httpapi.New(httpapi.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)), acc, prometheus.NewRegistry())
	s.Mount(httpapi.AuditRoutes(s, l)...)
	return s.Handler(), l, tokens[citybrain.RoleAuditor], tokens[citybrain.RoleDept]
}

func auditGet(t *testing.T, h http.Handler, path, token string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAuditRoutes(t *testing.T) {
	h, l, auditor, dept := newAuditServer(t)

	t.Run("only auditors search and export", func(t *testing.T) {
		for _, path := range []string{"/api/v1/audit/entries", "/api/v1/audit/export", "/api/v1/audit/entries/3",
			"/api/v1/audit/entries/3/proof", "/api/v1/audit/checkpoint", "/api/v1/audit/consistency?old_size=1"} {
			if rec := auditGet(t, h, path, ""); rec.Code != 401 {
				t.Errorf("anonymous %s: %d", path, rec.Code)
			}
			if rec := auditGet(t, h, path, dept); rec.Code != 403 {
				t.Errorf("dept user %s: %d", path, rec.Code)
			}
		}
	})

	t.Run("search pages by cursor and is audited", func(t *testing.T) {
		before := l.Size()
		var seqs []int64
		cursor := ""
		for range 10 {
			rec := auditGet(t, h, "/api/v1/audit/entries?action=deny&actor_id=11&limit=4&cursor="+cursor, auditor)
			if rec.Code != 200 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			var p httpapi.Page[audit.Entry]
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Items {
				if e.Action != audit.ActionDeny || e.Actor.UserID != 11 {
					t.Fatalf("filter leaked %+v", e)
				}
				seqs = append(seqs, e.Seq)
			}
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		if len(seqs) != 15 || seqs[0] != 29 || seqs[14] != 1 {
			t.Fatalf("paged %v", seqs)
		}
		last, _ := l.Get(context.Background(), l.Size()-1)
		if l.Size() <= before || last.Object.Dataset != "audit_log" || last.Actor.Role != citybrain.RoleAuditor {
			t.Fatalf("search not audited: %+v", last)
		}
	})

	t.Run("bad queries are client errors", func(t *testing.T) {
		for _, q := range []string{"actor_id=x", "from=yesterday", "from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", "limit=0", "cursor=!!"} {
			if rec := auditGet(t, h, "/api/v1/audit/entries?"+q, auditor); rec.Code != 400 {
				t.Errorf("%s: %d %s", q, rec.Code, rec.Body)
			}
		}
		for _, p := range []string{"/api/v1/audit/entries/-1", "/api/v1/audit/entries/x/proof", "/api/v1/audit/entries/99999"} {
			if rec := auditGet(t, h, p, auditor); rec.Code != 404 {
				t.Errorf("%s: %d", p, rec.Code)
			}
		}
		if rec := auditGet(t, h, "/api/v1/audit/consistency?old_size=0", auditor); rec.Code != 400 {
			t.Errorf("old_size=0: %d", rec.Code)
		}
	})

	t.Run("export is CSV and audited", func(t *testing.T) {
		rec := auditGet(t, h, "/api/v1/audit/export?dataset=residents", auditor)
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
			t.Fatalf("%d %s", rec.Code, rec.Header())
		}
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(rec.Body.String(), "\ufeff"))).ReadAll()
		if err != nil || len(rows) != 31 {
			t.Fatalf("%d rows, %v", len(rows), err)
		}
		last, _ := l.Get(context.Background(), l.Size()-1)
		if last.Action != audit.ActionExport {
			t.Fatalf("export not audited: %+v", last)
		}
	})

	t.Run("proof verifies against the checkpoint and its key", func(t *testing.T) {
		rec := auditGet(t, h, "/api/v1/audit/entries/7/proof", auditor)
		if rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		var p audit.InclusionProof
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		rec = auditGet(t, h, "/api/v1/audit/checkpoint", auditor)
		var cp struct {
			Size        int64  `json:"size"`
			Note        string `json:"note"`
			VerifierKey string `json:"verifier_key"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &cp); err != nil || cp.Size < 30 {
			t.Fatalf("checkpoint %s %v", rec.Body, err)
		}
		v, err := audit.NewVerifier(cp.VerifierKey)
		if err != nil {
			t.Fatal(err)
		}
		if err := audit.VerifyInclusion(p, v); err != nil || p.Seq != 7 {
			t.Fatalf("proof: %v", err)
		}
		rec = auditGet(t, h, "/api/v1/audit/consistency?old_size=5", auditor)
		var cons audit.ConsistencyProof
		if err := json.Unmarshal(rec.Body.Bytes(), &cons); err != nil || cons.OldSize != 5 || cons.NewSize != cp.Size {
			t.Fatalf("consistency %s %v", rec.Body, err)
		}
	})
}
