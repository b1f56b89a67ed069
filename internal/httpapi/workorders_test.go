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
	"github.com/citybrain/citybrain/internal/httpapi"
	"github.com/citybrain/citybrain/internal/store/storetest"
	"github.com/citybrain/citybrain/internal/workorder"
	"github.com/prometheus/client_golang/prometheus"
)

type woEnv struct {
	h      http.Handler
	svc    *workorder.Service
	tokens map[string]string // username → API token
}

func newWorkorderServer(t *testing.T, perHour int) *woEnv {
	t.Helper()
	ctx := context.Background()
	db := storetest.SQLite(t)
	acc := access.NewService(db, citybrain.SystemClock{}, access.Config{BootstrapToken: "boot"})
	if _, err := acc.Bootstrap(ctx, "admin-password"); err != nil {
		t.Fatal(err)
	}
	env := &woEnv{tokens: map[string]string{"admin": "boot"}}
	for _, u := range []access.NewUser{
		{Username: "operator1", Role: citybrain.RoleOperator},
		{Username: "water1", Role: citybrain.RoleDept, Department: "WATER"},
		{Username: "urban1", Role: citybrain.RoleDept, Department: "URBAN_MGMT"},
		{Username: "grid1", Role: citybrain.RoleWorker, Area: "G-0101"},
		{Username: "citizen1", Role: citybrain.RoleCitizen},
		{Username: "auditor1", Role: citybrain.RoleAuditor},
	} {
		u.Password = "password-" + u.Username
		nu, err := acc.CreateUser(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		_, secret, err := acc.CreateToken(ctx, nu.ID, "t", 0)
		if err != nil {
			t.Fatal(err)
		}
		env.tokens[u.Username] = secret
	}
	triager := workorder.TriagerFunc(func(ctx context.Context, text string) (workorder.Proposal, error) {
		if strings.Contains(text, "下水道") {
			return workorder.Proposal{Category: "DRAINAGE", Confidence: 0.95, Reasons: []string{"下水道"}}, nil
		}
		return workorder.Proposal{Category: "OTHER", Confidence: 0.2}, nil
	})
	svc, err := workorder.New(ctx, workorder.Options{Repo: db, Triager: triager,
		Locator: func(lon, lat float64) (string, string, string, bool) { return "G-0101", "C-01", "S-HEXI", true }})
	if err != nil {
		t.Fatal(err)
	}
	s := httpapi.New(httpapi.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)), acc, prometheus.NewRegistry())
	s.Mount(httpapi.WorkorderRoutes(s, svc, httpapi.WorkorderOptions{ReportsPerHour: perHour, Media: db})...)
	env.h, env.svc = s.Handler(), svc
	return env
}

func (e *woEnv) call(t *testing.T, method, path, user, body string, out any) int {
	t.Helper()
	tok := ""
	if user != "" {
		tok = e.tokens[user]
	}
	rec := call(t, e.h, method, path, tok, body)
	if out != nil && rec.Code < 300 {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, rec.Body)
		}
	}
	if rec.Code >= 300 && out != nil {
		t.Logf("%s %s → %d %s", method, path, rec.Code, rec.Body)
	}
	return rec.Code
}

func anon(t *testing.T, h http.Handler, method, path, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr = "192.0.2.1:1234"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// The "done when" through the HTTP API: an anonymous citizen reports a blocked
// drain with a photo and a pin; it is routed to the water bureau and the street; the unit
// acknowledges and reports; the grid worker verifies; the citizen rates with the token.
func TestWorkorderHTTPEndToEnd(t *testing.T) {
	e := newWorkorderServer(t, 5)
	code, body := anon(t, e.h, "POST", "/api/v1/reports", `{"description":"小区门口下水道堵了，污水外溢","media":["/media/1.jpg"],"lon":117.2,"lat":39.1,"phone":"13800000000"}`)
	if code != 201 {
		t.Fatalf("report: %d %s", code, body)
	}
	var rc httpapi.ReportReceipt
	json.Unmarshal(body, &rc)
	if rc.TrackingNo == "" || rc.Token == "" || rc.State != "dispatched" || rc.LeadDept != "WATER" || rc.Street != "S-HEXI" || rc.Deadline.IsZero() {
		t.Fatalf("receipt %+v", rc)
	}
	// Tracking needs the token.
	if code, _ := anon(t, e.h, "GET", "/api/v1/track/"+rc.TrackingNo+"?token=wrong", ""); code != 404 {
		t.Fatalf("wrong token: %d", code)
	}
	code, body = anon(t, e.h, "GET", "/api/v1/track/"+rc.TrackingNo+"?token="+rc.Token, "")
	var tr httpapi.TrackedOrder
	if json.Unmarshal(body, &tr); code != 200 || tr.LeadDept != "区水务局" || tr.StateZh != "派单" || len(tr.History) != 2 {
		t.Fatalf("track: %d %s", code, body)
	}
	if strings.Contains(string(body), "13800000000") {
		t.Fatal("tracking page shows the phone number")
	}
	id := fmt.Sprint(rc.ID)
	steps := []struct {
		user, action, body string
		status             int
	}{
		{"urban1", "acknowledge", ``, 403}, // not their order
		{"citizen1", "acknowledge", ``, 403},
		{"water1", "feedback", `{"reason":"已疏通"}`, 409}, // must sign first
		{"water1", "acknowledge", ``, 200},
		{"water1", "start", `{}`, 200},
		{"water1", "feedback", `{}`, 400}, // reason required
		{"water1", "feedback", `{"reason":"已疏通","attachments":["/media/2.jpg"]}`, 200},
		{"water1", "verify", ``, 403},
		{"grid1", "verify", `{"attachments":["/media/3.jpg"]}`, 200},
		{"grid1", "close", `{"reason":"现场核实"}`, 200},
		{"water1", "nonsense", ``, 404},
	}
	for _, s := range steps {
		var o workorder.Order
		if got := e.call(t, "POST", "/api/v1/workorders/"+id+"/"+s.action, s.user, s.body, &o); got != s.status {
			t.Fatalf("%s %s: %d, want %d", s.user, s.action, got, s.status)
		}
	}
	code, body = anon(t, e.h, "POST", "/api/v1/track/"+rc.TrackingNo+"/rate", `{"token":"`+rc.Token+`","rating":5,"reason":"满意"}`)
	if json.Unmarshal(body, &tr); code != 200 || tr.State != "rated" || tr.Rating != 5 {
		t.Fatalf("rate: %d %s", code, body)
	}
	var d httpapi.WorkorderDetail
	if code := e.call(t, "GET", "/api/v1/workorders/"+id, "operator1", "", &d); code != 200 {
		t.Fatalf("detail %d", code)
	}
	var acts []string
	for _, ev := range d.History {
		acts = append(acts, string(ev.Action))
	}
	if strings.Join(acts, ",") != "create,dispatch,acknowledge,start,feedback,verify,close,rate" || d.History[4].Attachments[0] != "/media/2.jpg" {
		t.Fatalf("history %v", acts)
	}
}

func TestWorkorderHTTPQueueListConfig(t *testing.T) {
	e := newWorkorderServer(t, 2)
	// Rate limit on the public door: 2 per hour per client.
	for i, want := range []int{201, 201, 429} {
		if code, body := anon(t, e.h, "POST", "/api/v1/reports", `{"description":"楼下有人天天弄东西","address":"友谊路1号"}`); code != want {
			t.Fatalf("report %d: %d %s", i, code, body)
		}
	}
	// Citizens may not pick a unit or a staff source.
	if code := e.call(t, "POST", "/api/v1/reports", "citizen1", `{"description":"x","address":"y","dept":"WATER"}`, nil); code != 400 {
		t.Fatalf("citizen dept: %d", code)
	}
	var q []*workorder.Order
	if code := e.call(t, "GET", "/api/v1/workorder-queue", "operator1", "", &q); code != 200 || len(q) != 2 || q[0].TriageConfidence != 0.2 {
		t.Fatalf("queue %d %d", code, len(q))
	}
	if code := e.call(t, "GET", "/api/v1/workorder-queue", "water1", "", nil); code != 403 {
		t.Fatalf("dept reads queue: %d", code)
	}
	var o workorder.Order
	if code := e.call(t, "POST", fmt.Sprintf("/api/v1/workorders/%d/dispatch", q[0].ID), "operator1", `{"category":"NOISE","reason":"人工分拨"}`, &o); code != 200 || o.LeadDept != "ECO_ENV" {
		t.Fatalf("manual dispatch %d %+v", code, o)
	}
	var ex []workorder.TrainingExample
	if code := e.call(t, "GET", "/api/v1/workorder-training", "admin", "", &ex); code != 200 || len(ex) != 1 || ex[0].ChosenCategory != "NOISE" {
		t.Fatalf("training %d %+v", code, ex)
	}
	// Staff entries and cursor pagination.
	for i := 0; i < 5; i++ {
		if code := e.call(t, "POST", "/api/v1/workorders", "grid1", `{"source":"patrol","category":"SANITATION","description":"垃圾满溢","lon":117.2,"lat":39.1}`, nil); code != 201 {
			t.Fatalf("patrol report %d", code)
		}
	}
	seen := map[int64]bool{}
	cursor := ""
	for page := 0; page < 5; page++ {
		var p httpapi.Page[*workorder.Order]
		if code := e.call(t, "GET", "/api/v1/workorders?limit=3&cursor="+cursor, "operator1", "", &p); code != 200 {
			t.Fatalf("list %d", code)
		}
		for _, o := range p.Items {
			if seen[o.ID] {
				t.Fatalf("order %d twice", o.ID)
			}
			seen[o.ID] = true
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if len(seen) != 7 {
		t.Fatalf("paged through %d orders, want 7", len(seen))
	}
	var p httpapi.Page[*workorder.Order]
	if code := e.call(t, "GET", "/api/v1/workorders?category=SANITATION&source=patrol&open=true", "auditor1", "", &p); code != 200 || len(p.Items) != 5 {
		t.Fatalf("filtered list %d %d", code, len(p.Items))
	}
	if code := e.call(t, "GET", "/api/v1/workorders", "citizen1", "", &p); code != 200 || len(p.Items) != 0 {
		t.Fatalf("citizen sees others' orders: %d", len(p.Items))
	}
	for _, bad := range []string{"state=nope", "open=maybe", "from=yesterday", "cursor=!!", "limit=0"} {
		if code := e.call(t, "GET", "/api/v1/workorders?"+bad, "operator1", "", nil); code != 400 {
			t.Errorf("%s: %d", bad, code)
		}
	}
	// Configuration: staff read, administrators write.
	var cat httpapi.CatalogueView
	if code := e.call(t, "GET", "/api/v1/workorder-config/catalogue", "water1", "", &cat); code != 200 || len(cat.Entries) != 20 {
		t.Fatalf("catalogue %d %d", code, len(cat.Entries))
	}
	if code := e.call(t, "PUT", "/api/v1/workorder-config/catalogue/NOISE", "operator1", `{"lead":"PUBLIC_SECURITY"}`, nil); code != 403 {
		t.Fatalf("operator edits catalogue: %d", code)
	}
	var ce workorder.CatalogueEntry
	if code := e.call(t, "PUT", "/api/v1/workorder-config/catalogue/NOISE", "admin", `{"lead":"PUBLIC_SECURITY","assist":["ECO_ENV"]}`, &ce); code != 200 || ce.Lead != "PUBLIC_SECURITY" {
		t.Fatalf("admin edits catalogue: %d", code)
	}
	var sla workorder.SLAPolicy
	if code := e.call(t, "GET", "/api/v1/workorder-config/sla", "operator1", "", &sla); code != 200 || len(sla.Rules) < 5 {
		t.Fatalf("sla %d", code)
	}
	sla.Rules = append([]workorder.SLARule{{Name: "噪声", Category: "NOISE", Amount: 3, Unit: workorder.UnitWorkingDays}}, sla.Rules...)
	b, _ := json.Marshal(sla)
	if code := e.call(t, "PUT", "/api/v1/workorder-config/sla", "admin", string(b), &sla); code != 200 || sla.Rules[0].Name != "噪声" {
		t.Fatalf("put sla %d", code)
	}
	if code := e.call(t, "PUT", "/api/v1/workorder-config/sla", "admin", `{"rules":[],"remind_at":0.8}`, nil); code != 400 {
		t.Fatalf("empty sla accepted: %d", code)
	}
	var cal workorder.CalendarConfig
	if code := e.call(t, "GET", "/api/v1/workorder-config/calendar", "operator1", "", &cal); code != 200 || len(cal.Years["2026"].Holidays) != 7 {
		t.Fatalf("calendar %d", code)
	}
	cal.OfficeHours = [][2]string{{"08:30", "12:00"}, {"14:00", "17:30"}}
	b, _ = json.Marshal(cal)
	if code := e.call(t, "PUT", "/api/v1/workorder-config/calendar", "admin", string(b), &cal); code != 200 || cal.OfficeHours[0][0] != "08:30" {
		t.Fatalf("put calendar %d", code)
	}
	var st workorder.Config
	if code := e.call(t, "PUT", "/api/v1/workorder-config/settings", "admin", `{"triage_threshold":0.7,"duplicate_radius_m":80,"duplicate_window":"72h","reopen_window":2592000000000000,"triage_timeout":"2s","max_description":4000}`, &st); code != 200 || st.DuplicateRadiusM != 80 || time.Duration(st.DuplicateWindow) != 72*time.Hour || time.Duration(st.ReopenWindow) != 720*time.Hour {
		t.Fatalf("settings %d", code)
	}
	var dv httpapi.DictionaryView
	if code, body := anon(t, e.h, "GET", "/api/v1/workorder-config/categories", ""); code != 200 || json.Unmarshal(body, &dv) != nil || len(dv.Categories) != 20 {
		t.Fatalf("categories %d", code)
	}
	if code := e.call(t, "PUT", "/api/v1/workorder-config/categories", "admin", `{"categories":[{"code":"ROAD.MANHOLE","parent":"ROAD","name_zh":"井盖","name_en":"Manhole"}]}`, &dv); code != 200 || len(dv.Categories) != 21 {
		t.Fatalf("extend %d", code)
	}
	if code := e.call(t, "PUT", "/api/v1/workorder-config/settings", "admin", `{"triage_threshold":0.7,"duplicate_radius_m":80,"duplicate_window":"a week","max_description":4000}`, nil); code != 400 {
		t.Fatalf("bad duration: %d", code)
	}
	if code := e.call(t, "PUT", "/api/v1/workorder-config/categories", "admin", `{"categories":[{"code":"ROAD","name_zh":"改"}]}`, nil); code != 409 {
		t.Fatalf("redefining a shipped code: %d", code)
	}
	var lv httpapi.LifecycleView
	if code, body := anon(t, e.h, "GET", "/api/v1/workorder-config/lifecycle", ""); code != 200 || json.Unmarshal(body, &lv) != nil || len(lv.States) != 10 {
		t.Fatalf("lifecycle %d", code)
	}
	var sum workorder.Summary
	if code := e.call(t, "GET", "/api/v1/workorder-summary", "operator1", "", &sum); code != 200 || sum.New != 7 {
		t.Fatalf("summary %d %+v", code, sum)
	}
	if code := e.call(t, "GET", "/api/v1/workorder-summary", "citizen1", "", nil); code != 403 {
		t.Fatalf("citizen summary %d", code)
	}
	var stats workorder.Stats
	if code := e.call(t, "GET", "/api/v1/workorder-stats", "operator1", "", &stats); code != 200 || stats.Open != 7 || stats.Triage != 1 {
		t.Fatalf("stats %d %+v", code, stats)
	}
}

// A 1×1 PNG.
var onePixelPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" +
	"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

func TestWorkorderPhotos(t *testing.T) {
	e := newWorkorderServer(t, 5)
	code, body := anon(t, e.h, "POST", "/api/v1/workorder-media", string(onePixelPNG))
	var m httpapi.MediaReceipt
	if json.Unmarshal(body, &m); code != 201 || m.ContentType != "image/png" || len(m.ID) != 32 {
		t.Fatalf("upload: %d %s", code, body)
	}
	req := httptest.NewRequest("GET", m.URL, nil)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" || !bytes.Equal(rec.Body.Bytes(), onePixelPNG) {
		t.Fatalf("download: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if code, _ := anon(t, e.h, "POST", "/api/v1/workorder-media", "<html><script>alert(1)</script></html>"); code != 415 {
		t.Fatalf("html upload: %d", code)
	}
	if code, _ := anon(t, e.h, "POST", "/api/v1/workorder-media", ""); code != 400 {
		t.Fatalf("empty upload: %d", code)
	}
	for _, p := range []string{"/api/v1/workorder-media/0123456789abcdef0123456789abcdef", "/api/v1/workorder-media/nope"} {
		if code, _ := anon(t, e.h, "GET", p, ""); code != 404 {
			t.Fatalf("%s: %d", p, code)
		}
	}
	if code, _ := anon(t, e.h, "POST", "/api/v1/reports", `{"description":"下水道堵了","address":"友谊路","media":["javascript:alert(1)"]}`); code != 400 {
		t.Fatalf("script media: %d", code)
	}
	if code, body := anon(t, e.h, "POST", "/api/v1/reports", `{"description":"下水道堵了","address":"友谊路","media":["`+m.URL+`"]}`); code != 201 {
		t.Fatalf("report with photo: %d %s", code, body)
	}
}
