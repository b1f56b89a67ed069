package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/access"
	"github.com/citybrain/citybrain/internal/governance"
	"github.com/citybrain/citybrain/internal/httpapi"
	"github.com/citybrain/citybrain/internal/store/storetest"
	"github.com/prometheus/client_golang/prometheus"
)

func newGovServer(t *testing.T) (http.Handler, map[string]string) {
	t.Helper()
	ctx := context.Background()
	db := storetest.SQLite(t)
	acc := access.NewService(db, citybrain.SystemClock{}, access.Config{BootstrapToken: "boot"})
	if _, err := acc.Bootstrap(ctx, "admin-password"); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for _, u := range []access.NewUser{
		{Username: "civil", Password: "password-civil", Role: citybrain.RoleDept, Department: "CIVIL_AFFAIRS", Clearance: 4},
		{Username: "worker", Password: "password-worker", Role: citybrain.RoleWorker, Area: "HX-01", Clearance: 2},
		{Username: "citizen", Password: "password-citizen", Role: citybrain.RoleCitizen},
	} {
		created, err := acc.CreateUser(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		_, tok, err := acc.CreateToken(ctx, created.ID, "t", 0)
		if err != nil {
			t.Fatal(err)
		}
		tokens[u.Username] = tok
	}
	m, err := governance.NewMasker([]byte("httpapi-test-pseudonym-key-0123"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := governance.NewService(governance.Config{Repo: db, Policy: governance.DefaultPolicy(), Masker: m})
	if err != nil {
		t.Fatal(err)
	}
	s := httpapi.New(httpapi.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)), acc, prometheus.NewRegistry())
	s.SetGuard(svc)
	s.Mount(httpapi.GovernanceRoutes(s, svc)...)
	return s.Handler(), tokens
}

func govCall(t *testing.T, h http.Handler, method, path, token string, body any) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestGovernanceRoutes(t *testing.T) {
	h, tok := newGovServer(t)
	// upload (multipart) by the civil-affairs officer
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("name", "residents_hx")
	_ = mw.WriteField("title", "居民名单")
	fw, _ := mw.CreateFormFile("file", "residents.csv")
	fmt.Fprint(fw, "姓名,手机号,住址,社区\n")
	for i := 0; i < 12; i++ {
		fmt.Fprintf(fw, "张三%s,138123456%02d,河西区滨江路%d号,东湖社区\n", []string{"", "丰"}[i%2], i, i+1)
	}
	mw.Close()
	req := httptest.NewRequest("POST", "/api/v1/datasets", &buf)
	req.Header.Set("Authorization", "Bearer "+tok["civil"])
	req.Header.Set("Content-Type", mw.FormDataContentType())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		t.Fatalf("upload: %d %s", rec.Code, rec.Body)
	}
	if rec := govCall(t, h, "PATCH", "/api/v1/datasets/residents_hx", tok["civil"], map[string]any{"accept_suggestions": true}); rec.Code != 200 {
		t.Fatalf("accept: %d %s", rec.Code, rec.Body)
	}
	rows := func(who string) map[string]any {
		rec := govCall(t, h, "GET", "/api/v1/datasets/residents_hx/rows?limit=5", tok[who], nil)
		if rec.Code != 200 {
			t.Fatalf("rows as %s: %d %s", who, rec.Code, rec.Body)
		}
		var page struct {
			Items      []map[string]any `json:"items"`
			NextCursor string           `json:"next_cursor"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || len(page.Items) != 5 || page.NextCursor == "" {
			t.Fatalf("rows page: %v %s", err, rec.Body)
		}
		return page.Items[0]
	}
	if r := rows("worker"); r["姓名"] != "张*" || r["手机号"] != "138****5600" || r["社区"] != "东湖社区" {
		t.Fatalf("worker row %v", r)
	}
	if rec := govCall(t, h, "GET", "/api/v1/datasets/residents_hx/rows", tok["citizen"], nil); rec.Code != http.StatusForbidden {
		t.Errorf("citizen rows: %d", rec.Code)
	}
	rec = govCall(t, h, "POST", "/api/v1/sharing/requests", tok["worker"], governance.RequestInput{Dataset: "residents_hx", Columns: []string{"姓名", "手机号", "住址"}, Level: "FULL", Purpose: "独居老人走访", Days: 30})
	if rec.Code != http.StatusCreated {
		t.Fatalf("request: %d %s", rec.Code, rec.Body)
	}
	var sr governance.ShareRequest
	_ = json.Unmarshal(rec.Body.Bytes(), &sr)
	if rec := govCall(t, h, "GET", "/api/v1/sharing/requests?box=owner&open=1", tok["civil"], nil); !strings.Contains(rec.Body.String(), `"dataset":"residents_hx"`) {
		t.Fatalf("inbox: %s", rec.Body)
	}
	if rec := govCall(t, h, "POST", fmt.Sprintf("/api/v1/sharing/requests/%d/approve", sr.ID), tok["civil"], governance.ApproveInput{}); rec.Code != 200 {
		t.Fatalf("approve: %d %s", rec.Code, rec.Body)
	}
	if r := rows("worker"); r["姓名"] != "张三" || r["手机号"] != "13812345600" {
		t.Fatalf("worker row after grant %v", r)
	}
	rec = govCall(t, h, "GET", "/api/v1/sharing/stats", tok["civil"], nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"sharing_rate":1`) {
		t.Fatalf("stats: %d %s", rec.Code, rec.Body)
	}
	rec = govCall(t, h, "GET", "/api/v1/datasets/residents_hx/aggregate?group_by=社区", tok["worker"], nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"count":12`) {
		t.Fatalf("aggregate: %d %s", rec.Code, rec.Body)
	}
	if rec := govCall(t, h, "GET", "/api/v1/datasets/residents_hx/aggregate?group_by=社区&k=2", tok["worker"], nil); rec.Code != 400 {
		t.Errorf("k below 10 accepted: %d", rec.Code)
	}
	rec = govCall(t, h, "POST", "/api/v1/governance/detect", tok["worker"], httpapi.DetectInput{Text: "联系人张三，电话13812345678"})
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "138****5678") {
		t.Fatalf("detect: %d %s", rec.Code, rec.Body)
	}
	if rec := govCall(t, h, "GET", "/api/v1/governance/policy", tok["worker"], nil); rec.Code != http.StatusForbidden {
		t.Errorf("worker read the policy: %d", rec.Code)
	}
	rec = govCall(t, h, "GET", "/api/v1/datasets", tok["worker"], nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"name":"workorders"`) {
		t.Fatalf("catalog: %d", rec.Code)
	}
	// bad input is a client error
	for _, c := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"POST", "/api/v1/sharing/requests", governance.RequestInput{Dataset: "residents_hx", Level: "FULL", Days: 30}, 400},
		{"POST", "/api/v1/sharing/requests", governance.RequestInput{Dataset: "nope", Level: "FULL", Purpose: "x", Days: 30}, 404},
		{"POST", "/api/v1/sharing/requests/999/refuse", httpapi.ReasonInput{Reason: "x"}, 404},
		{"PATCH", "/api/v1/datasets/residents_hx", map[string]any{"columns": []map[string]any{{"name": "姓名", "grade": "一般9"}}}, 400},
	} {
		who := "worker"
		if c.method == "PATCH" || strings.HasSuffix(c.path, "refuse") {
			who = "civil"
		}
		if rec := govCall(t, h, c.method, c.path, tok[who], c.body); rec.Code != c.want {
			t.Errorf("%s %s: %d, want %d (%s)", c.method, c.path, rec.Code, c.want, rec.Body)
		}
	}
}
