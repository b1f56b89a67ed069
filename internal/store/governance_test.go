package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/governance"
	"github.com/citybrain/citybrain/internal/store"
	"github.com/citybrain/citybrain/internal/store/storetest"
	"golang.org/x/text/encoding/simplifiedchinese"
)

type auditSink struct {
	mu     sync.Mutex
	events []governance.AuditEvent
}

func (a *auditSink) record(_ context.Context, e governance.AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e)
	return nil
}

func (a *auditSink) count(action, table string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, e := range a.events {
		if e.Action == action && (table == "" || e.Table == table) {
			n++
		}
	}
	return n
}

func newGovService(t *testing.T, db *store.DB, clock *citybrain.FixedClock, sink *auditSink) *governance.Service {
	t.Helper()
	m, err := governance.NewMasker([]byte("store-test-pseudonym-key-0123456"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := governance.NewService(governance.Config{Repo: db, Policy: governance.DefaultPolicy(), Masker: m, Audit: sink.record, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestGovernanceScenario walks the "done when": a civil-affairs officer imports a
// residents list (GB18030), accepts the suggested grades; a street worker of another
// department sees it masked, asks for full access to three columns for a stated purpose,
// gets it approved for 30 days, reads them in full, and every step is audited.
func TestGovernanceScenario(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := &citybrain.FixedClock{T: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)} // a Monday
		sink := &auditSink{}
		svc := newGovService(t, db, clock, sink)
		officer := &citybrain.Actor{UserID: 10, Username: "civil", Role: citybrain.RoleDept, Department: "CIVIL_AFFAIRS", Clearance: 4}
		worker := &citybrain.Actor{UserID: 20, Username: "worker", Role: citybrain.RoleWorker, Area: "HX-01-02", Clearance: 2, Purpose: "独居老人走访"}

		var b strings.Builder
		b.WriteString("姓名,身份证号,手机号,住址,社区,备注\n")
		names := []string{"张三", "李四", "王小明", "欧阳娜娜", "赵敏", "钱学森", "孙丽华", "周杰", "吴敏", "郑爽", "冯巩", "陈静"}
		ids := []string{"11010519491231002X", "34052419800101001X", "51343620000320711X"}
		for i, n := range names {
			b.WriteString(n + "," + ids[i%3] + ",1381234567" + string(rune('0'+i%10)) + ",河西区滨江路" + string(rune('1'+i%9)) + "号,东湖社区,\n")
		}
		gb, err := simplifiedchinese.GB18030.NewEncoder().String(b.String())
		if err != nil {
			t.Fatal(err)
		}
		var progress []int64
		res, err := svc.Import(ctx, officer, governance.ImportInput{Name: "residents_hx", Title: "河西区居民名单"}, strings.NewReader(gb), func(n int64) { progress = append(progress, n) })
		if err != nil {
			t.Fatal(err)
		}
		if res.Encoding != "gb18030" || res.Rows != 12 || len(progress) == 0 || progress[len(progress)-1] != 12 {
			t.Fatalf("import: %+v progress %v", res, progress)
		}
		want := map[string]governance.Grade{"姓名": governance.GradeGeneral3, "身份证号": governance.GradeGeneral4, "手机号": governance.GradeGeneral4, "住址": governance.GradeGeneral4, "社区": governance.GradeGeneral2}
		for _, c := range res.Dataset.Columns {
			if g, ok := want[c.Name]; ok && c.Grade != g {
				t.Errorf("suggested %s = %s, want %s", c.Name, c.Grade, g)
			}
		}
		if _, err := svc.Import(ctx, officer, governance.ImportInput{Name: "residents_hx"}, strings.NewReader("a\n1\n"), nil); citybrain.ErrorCode(err) != citybrain.ECONFLICT {
			t.Errorf("duplicate import: %v", err)
		}
		if _, err := svc.Classify(ctx, worker, "residents_hx", governance.DatasetPatch{AcceptSuggestions: true}); citybrain.ErrorCode(err) != citybrain.EFORBIDDEN {
			t.Errorf("worker classified: %v", err)
		}
		ds, err := svc.Classify(ctx, officer, "residents_hx", governance.DatasetPatch{AcceptSuggestions: true})
		if err != nil {
			t.Fatal(err)
		}
		if ds.Grade() != governance.GradeGeneral4 || !ds.Columns[0].Confirmed {
			t.Fatalf("classified: %+v", ds)
		}

		read := func(a *citybrain.Actor) map[string]any {
			t.Helper()
			rows, _, err := svc.Rows(ctx, "residents_hx", 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			out, err := svc.Filter(citybrain.WithActor(ctx, a), a, "residents_hx", toAnySlice(rows))
			if err != nil {
				t.Fatal(err)
			}
			return out.([]any)[0].(map[string]any)
		}
		r := read(worker)
		if r["姓名"] != "张*" || r["身份证号"] != "1****************X" || r["手机号"] != "138****5670" || r["住址"] != "河西区滨江路****" || r["社区"] != "东湖社区" {
			t.Fatalf("worker sees %v", r)
		}
		if sink.count(governance.AuditMask, "") == 0 {
			t.Fatal("masked read not audited")
		}
		if r := read(officer); r["身份证号"] != "11010519491231002X" {
			t.Fatalf("owner sees %v", r)
		}

		req, err := svc.RequestShare(ctx, worker, governance.RequestInput{Dataset: "residents_hx", Columns: []string{"姓名", "手机号", "住址"}, Level: "FULL", Purpose: "独居老人走访", Days: 30})
		if err != nil {
			t.Fatal(err)
		}
		if req.Requester != governance.StreetOffice || req.Owner != "CIVIL_AFFAIRS" || !req.AnswerDue.Equal(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)) {
			t.Fatalf("request %+v", req)
		}
		inbox, err := svc.Inbox(ctx, officer, "owner", true)
		if err != nil || len(inbox) != 1 || inbox[0].ID != req.ID {
			t.Fatalf("owner inbox %v %v", inbox, err)
		}
		if _, _, err := svc.Approve(ctx, worker, req.ID, governance.ApproveInput{}); citybrain.ErrorCode(err) != citybrain.EFORBIDDEN {
			t.Errorf("requester approved own request: %v", err)
		}
		if _, _, err := svc.Approve(ctx, officer, req.ID, governance.ApproveInput{Days: 31}); citybrain.ErrorCode(err) != citybrain.EINVALID {
			t.Errorf("wider approval accepted: %v", err)
		}
		clock.T = clock.T.Add(3 * time.Hour)
		_, g, err := svc.Approve(ctx, officer, req.ID, governance.ApproveInput{Note: "限走访使用"})
		if err != nil {
			t.Fatal(err)
		}
		if !g.Expires.Equal(clock.T.AddDate(0, 0, 30)) || g.Grantee != governance.StreetOffice {
			t.Fatalf("grant %+v", g)
		}
		if _, _, err := svc.Approve(ctx, officer, req.ID, governance.ApproveInput{}); citybrain.ErrorCode(err) != citybrain.ECONFLICT {
			t.Errorf("second approval: %v", err)
		}
		r = read(worker)
		if r["姓名"] != "张三" || r["手机号"] != "13812345670" || r["住址"] != "河西区滨江路1号" || r["身份证号"] != "1****************X" {
			t.Fatalf("worker with grant sees %v", r)
		}
		if sink.count(governance.AuditChange, "grant") != 1 || sink.count(governance.AuditChange, "share_request") != 1 || sink.count(governance.AuditChange, "classification") != 1 || sink.count(governance.AuditChange, "import") != 1 {
			t.Fatalf("audit events %+v", sink.events)
		}
		stats, err := svc.Stats(ctx, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range stats {
			if s.Department == "CIVIL_AFFAIRS" && (s.Received != 1 || s.Approved != 1 || s.SharingRate != 1 || s.AvgResponseHours != 3) {
				t.Errorf("stats %+v", s)
			}
		}
		// expiry, then revoke
		clock.T = g.Expires
		if r := read(worker); r["姓名"] != "张*" {
			t.Errorf("expired grant still open: %v", r)
		}
		clock.T = g.Start.Add(time.Hour)
		if _, err := svc.Revoke(ctx, officer, g.ID, "走访结束"); err != nil {
			t.Fatal(err)
		}
		if r := read(worker); r["手机号"] != "138****5670" {
			t.Errorf("revoked grant still open: %v", r)
		}
		// refusal needs a reason; escalation after the deadline
		req2, err := svc.RequestShare(ctx, worker, governance.RequestInput{Dataset: "residents_hx", Level: "MASKED", Purpose: "统计", Days: 10})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Refuse(ctx, officer, req2.ID, " "); citybrain.ErrorCode(err) != citybrain.EINVALID {
			t.Errorf("refusal without reason: %v", err)
		}
		clock.T = req2.AnswerDue.Add(time.Minute)
		if n, err := svc.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if got, _ := db.GetRequest(ctx, req2.ID); got.State != governance.RequestEscalated {
			t.Fatalf("not escalated: %+v", got)
		}
		if _, err := svc.Refuse(ctx, officer, req2.ID, "无依据"); citybrain.ErrorCode(err) != citybrain.EFORBIDDEN {
			t.Errorf("owner decided an escalated request: %v", err)
		}
		admin := &citybrain.Actor{UserID: 1, Role: citybrain.RoleAdmin, Clearance: 5}
		if _, err := svc.Refuse(ctx, admin, req2.ID, "无法定依据"); err != nil {
			t.Fatal(err)
		}
		// aggregates: k suppression through the service
		cells, err := svc.Aggregate(ctx, worker, "residents_hx", governance.AggQuery{GroupBy: []string{"社区"}})
		if err != nil || len(cells) != 1 || cells[0].Count != 12 {
			t.Fatalf("aggregate %+v %v", cells, err)
		}
		// unknown dataset fails closed
		if _, err := svc.Filter(ctx, worker, "no_such", []any{}); citybrain.ErrorCode(err) != citybrain.EDENIED {
			t.Errorf("unknown dataset: %v", err)
		}
	})
}

func toAnySlice(ms []map[string]any) []any {
	out := make([]any, len(ms))
	for i := range ms {
		out[i] = ms[i]
	}
	return out
}

func TestGovernanceConsent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := &citybrain.FixedClock{T: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
		sink := &auditSink{}
		svc := newGovService(t, db, clock, sink)
		staff := &citybrain.Actor{UserID: 10, Role: citybrain.RoleDept, Department: "CIVIL_AFFAIRS", Clearance: 4, Purpose: "elderly_care"}
		for _, st := range []string{"granted", "withdrawn"} {
			if _, err := svc.SetConsent(ctx, staff, governance.ConsentInput{Household: "H1", Purpose: "elderly_care", Status: st}); err != nil {
				t.Fatal(err)
			}
			clock.T = clock.T.Add(time.Minute)
		}
		if _, err := svc.SetConsent(ctx, staff, governance.ConsentInput{Household: "H2", Purpose: "elderly_care", Status: "granted"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SetConsent(ctx, staff, governance.ConsentInput{Household: "H2", Purpose: "elderly_care", Status: "maybe"}); citybrain.ErrorCode(err) != citybrain.EINVALID {
			t.Errorf("bad status: %v", err)
		}
		hist, err := svc.ConsentHistory(ctx, "H1")
		if err != nil || len(hist) != 2 || hist[1].Status != governance.ConsentWithdrawn {
			t.Fatalf("history %+v %v", hist, err)
		}
		cur, err := db.CurrentConsent(ctx, []string{"H1", "H2", "H3"}, "elderly_care")
		if err != nil || cur["H1"] != governance.ConsentWithdrawn || cur["H2"] != governance.ConsentGranted || len(cur) != 2 {
			t.Fatalf("current %v %v", cur, err)
		}
		// door-sensor readings of three households through the Guard
		recs := []any{
			map[string]any{"device_id": "D1", "household": "H1", "value": 1.0, "ts": 1.0},
			map[string]any{"device_id": "D2", "household": "H2", "value": 0.0, "ts": 1.0},
			map[string]any{"device_id": "D3", "household": "H3", "value": 1.0, "ts": 1.0},
		}
		out, err := svc.Filter(ctx, staff, "telemetry.door_sensor", recs)
		if err != nil {
			t.Fatal(err)
		}
		rows := out.([]any)
		if len(rows) != 2 {
			t.Fatalf("withdrawn household not dropped: %v", rows)
		}
		if rows[0].(map[string]any)["value"] != 0.0 {
			t.Errorf("granted household H2: %v", rows[0])
		}
		if _, ok := rows[1].(map[string]any)["value"]; ok {
			t.Errorf("household without consent shows readings: %v", rows[1])
		}
		if sink.count(governance.AuditChange, "consent") != 3 {
			t.Errorf("consent changes audited %d times", sink.count(governance.AuditChange, "consent"))
		}
		// a device's live state: the device's household consent decides
		m, err := governance.NewMasker([]byte("store-test-pseudonym-key-0123456"))
		if err != nil {
			t.Fatal(err)
		}
		withDevices, err := governance.NewService(governance.Config{Repo: db, Policy: governance.DefaultPolicy(), Masker: m, Audit: sink.record, Now: clock.Now,
			DeviceLookup: func(_ context.Context, id string) (string, string, error) {
				return map[string]string{"D1": "door_sensor", "D2": "door_sensor", "A1": "air_quality"}[id], map[string]string{"D1": "H1", "D2": "H2"}[id], nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		latest := func(id string) map[string]any {
			return map[string]any{"device_id": id, "measurements": map[string]any{"door_open": map[string]any{"ts": 1.0, "value": 1.0}}}
		}
		if _, err := withDevices.Filter(ctx, staff, "telemetry", latest("D1")); citybrain.ErrorCode(err) != citybrain.EDENIED {
			t.Errorf("withdrawn household's device: %v", err)
		}
		got, err := withDevices.Filter(ctx, staff, "telemetry", latest("D2"))
		if err != nil || got.(map[string]any)["measurements"].(map[string]any)["door_open"].(map[string]any)["value"] != 1.0 {
			t.Errorf("granted household's device: %v %v", got, err)
		}
		other := &citybrain.Actor{UserID: 11, Role: citybrain.RoleDept, Department: "WATER", Clearance: 4, Purpose: "elderly_care"}
		got, err = withDevices.Filter(ctx, other, "telemetry", latest("D2"))
		if err != nil || got.(map[string]any)["measurements"].(map[string]any)["door_open"].(map[string]any)["value"] != nil {
			t.Errorf("home readings shown to another department: %v %v", got, err)
		}
		if got, err := withDevices.Filter(ctx, other, "telemetry", latest("A1")); err != nil || got.(map[string]any)["measurements"].(map[string]any)["door_open"].(map[string]any)["value"] != 1.0 {
			t.Errorf("street air-quality reading: %v %v", got, err)
		}
		// text for the external model: PI masked in place, the masking audited
		out2 := svc.ModelMasker(governance.GradeGeneral3, 2)("联系人张三，电话13812345678，身份证11010519491231002X，家门口井盖丢了")
		if strings.Contains(out2, "13812345678") || strings.Contains(out2, "张三") || strings.Contains(out2, "19491231") || !strings.Contains(out2, "井盖丢了") {
			t.Errorf("model text %q", out2)
		}
		if sink.count(governance.AuditMask, "model_text") != 1 {
			t.Errorf("model masking not audited")
		}
	})
}

// TestGovernancePolicyVersions stores a stricter policy, checks it takes effect, is
// audited, survives a restart of the service and refuses non-admins and invalid input.
func TestGovernancePolicyVersions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := &citybrain.FixedClock{T: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
		sink := &auditSink{}
		svc := newGovService(t, db, clock, sink)
		if err := svc.LoadPolicy(ctx); err != nil || svc.Policy().Version != 0 {
			t.Fatalf("empty store: %v %d", err, svc.Policy().Version)
		}
		worker := &citybrain.Actor{UserID: 20, Role: citybrain.RoleWorker, Area: "HX-01", Clearance: 3}
		admin := &citybrain.Actor{UserID: 1, Role: citybrain.RoleAdmin, Clearance: 5}
		rec := []any{map[string]any{"id": 1.0, "status": "open"}}
		read := func(s *governance.Service) any {
			out, err := s.Filter(ctx, worker, "alerts", rec)
			if err != nil {
				t.Fatal(err)
			}
			return out.([]any)[0].(map[string]any)["status"]
		}
		if got := read(svc); got != "open" {
			t.Fatalf("default policy: status %v", got)
		}
		p := governance.DefaultPolicy()
		p.Rules = append(p.Rules, governance.Rule{ID: "no-alerts-for-workers", Effect: governance.Deny,
			Match: governance.Match{Roles: []string{citybrain.RoleWorker}, Datasets: []string{"alerts"}}})
		if _, err := svc.SetPolicy(ctx, worker, p); citybrain.ErrorCode(err) != citybrain.EFORBIDDEN {
			t.Errorf("worker set the policy: %v", err)
		}
		bad := p
		bad.Rules = append(append([]governance.Rule(nil), p.Rules...), governance.Rule{ID: "owner"})
		if _, err := svc.SetPolicy(ctx, admin, bad); citybrain.ErrorCode(err) != citybrain.EINVALID {
			t.Errorf("duplicate rule id accepted: %v", err)
		}
		v, err := svc.SetPolicy(ctx, admin, p)
		if err != nil || v.Version == 0 {
			t.Fatalf("set policy: %+v %v", v, err)
		}
		if got := read(svc); got != nil {
			t.Errorf("new DENY rule not applied: status %v", got)
		}
		if sink.count(governance.AuditChange, "policy") != 1 {
			t.Errorf("policy change not audited")
		}
		again := newGovService(t, db, clock, sink)
		if err := again.LoadPolicy(ctx); err != nil || again.Policy().Version != v.Version {
			t.Fatalf("reload: %v version %d", err, again.Policy().Version)
		}
		if got := read(again); got != nil {
			t.Errorf("stored policy not in force after reload: status %v", got)
		}
	})
}
