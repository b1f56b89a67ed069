package triage

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// chatFunc adapts a function to ChatModel for tests of the fallback logic; the HTTP client
// is tested against a fake server in internal/llm.
type chatFunc func(ctx context.Context, system, user string) (string, error)

func (f chatFunc) Chat(ctx context.Context, system, user string) (string, error) {
	return f(ctx, system, user)
}

var cst = time.FixedZone("CST", 8*3600)

func TestDraftReply(t *testing.T) {
	tax, _ := DefaultTaxonomy()
	due := time.Date(2026, 11, 30, 17, 0, 0, 0, cst)
	cases := []struct {
		name    string
		in      ReplyInput
		want    []string
		wantErr bool
	}{
		{"accepted", ReplyInput{State: ReplyAccepted, Category: "DRAINAGE", TrackingNo: "HX20261128-0001", CitizenName: "王先生", Street: "南湖街道", Deadline: due},
			[]string{"王先生，您好", "排水与积水", "已受理", "HX20261128-0001", "2026年11月30日17时", "南湖街道"}, false},
		{"dispatched", ReplyInput{State: ReplyDispatched, Category: "DRAINAGE", TrackingNo: "T1", Deadline: due},
			[]string{"市民朋友，您好", "区水务局", "疏通", "办理时限为2026年11月30日17时"}, false},
		{"dispatched to a named unit", ReplyInput{State: ReplyDispatched, Category: "ROAD", TrackingNo: "T2", Department: "沙洲街道办事处"},
			[]string{"已派至沙洲街道办事处"}, false},
		{"extension", ReplyInput{State: ReplyExtension, Category: "ROAD", TrackingNo: "T3", Reason: "需要占道施工审批。", ExtendedTo: time.Date(2026, 12, 5, 18, 30, 0, 0, cst)},
			[]string{"因需要占道施工审批，", "区住房和建设委员会申请延期", "2026年12月5日18时30分"}, false},
		{"closed", ReplyInput{State: ReplyClosed, Category: "STREETLIGHT", TrackingNo: "T4", Result: "已更换灯具，恢复照明"},
			[]string{"区城市管理委员会办理结果：已更换灯具，恢复照明。", "已办结", "不满意"}, false},
		{"closed default result", ReplyInput{State: ReplyClosed, Category: "OTHER", TrackingNo: "T5"},
			[]string{"街道办事处属地街道已协调处理"}, false},
		{"extension without date", ReplyInput{State: ReplyExtension, Category: "ROAD", TrackingNo: "T6"}, nil, true},
		{"unknown state", ReplyInput{State: "rated", Category: "ROAD", TrackingNo: "T7"}, nil, true},
		{"unknown category", ReplyInput{State: ReplyAccepted, Category: "SEWER", TrackingNo: "T8"}, nil, true},
		{"no tracking number", ReplyInput{State: ReplyAccepted, Category: "ROAD"}, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DraftReply(tax, tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("reply lacks %q:\n%s", w, got)
				}
			}
		})
	}
	// Every category has its own action phrase.
	seen := map[string]string{}
	for _, code := range tax.Codes() {
		doing, _ := categoryAction(code)
		if prev, dup := seen[doing]; dup {
			t.Errorf("%s and %s share the action %q", code, prev, doing)
		}
		seen[doing] = code
	}
}

func sampleBrief() BriefInput {
	sat := 0.85
	return BriefInput{
		Date:      time.Date(2026, 11, 28, 0, 0, 0, 0, cst),
		Area:      "河西区",
		Today:     DayFigures{New: 52, Closed: 20, Overdue: 3},
		Prev:      &DayFigures{New: 44, Closed: 25, Overdue: 3},
		Open:      126,
		Escalated: 2,
		Hotspots:  []Hotspot{{"兴隆街道", "SANITATION", 4}, {"南湖街道", "DRAINAGE", 12}},
		ByCategory: []CategoryCount{
			{"DRAINAGE", 15, 6}, {"SANITATION", 9, 10}, {"ROAD", 4, 4}, {"NOISE", 0, 0},
		},
		Notable:      []NotableCase{{TrackingNo: "HX-0012", Category: "HEATING_GAS", Street: "沙洲街道", Urgency: UrgencyEmergency, Status: "处置中", Summary: "楼道燃气味很浓"}},
		Satisfaction: &sat,
	}
}

func TestDraftBrief(t *testing.T) {
	tax, _ := DefaultTaxonomy()
	got := DraftBrief(tax, sampleBrief())
	for _, w := range []string{
		"河西区城市运行日报（2026年11月28日）",
		"当日新受理群众诉求52件，较前一日增加8件（+18.2%）",
		"办结20件，较前一日减少5件（-20.0%）",
		"超期未办结3件，与前一日持平", "在办126件", "督办2件", "满意率85.0%",
		"1. 南湖街道 · 排水与积水：12件", "2. 兴隆街道 · 环境卫生：4件",
		"排水与积水15件（+9），环境卫生9件（-1），道路桥梁设施4件。",
		"【紧急】HX-0012 供热燃气 沙洲街道：楼道燃气味很浓（处置中）",
		"超期未办结3件", "排水与积水类诉求较前一日明显增加（6件→15件），建议区水务局", "低于90%",
		"当日办结数不足新增数的一半",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("brief lacks %q:\n%s", w, got)
		}
	}
	if strings.Contains(got, "噪声扰民") {
		t.Errorf("zero category listed:\n%s", got)
	}
	if DraftBrief(tax, sampleBrief()) != got {
		t.Error("not deterministic")
	}
	quiet := DraftBrief(tax, BriefInput{Date: time.Date(2026, 1, 2, 0, 0, 0, 0, cst), Today: DayFigures{New: 2, Closed: 2}})
	for _, w := range []string{"全区城市运行日报（2026年1月2日）", "无集中反映的热点问题", "无需重点关注", "运行平稳"} {
		if !strings.Contains(quiet, w) {
			t.Errorf("quiet brief lacks %q:\n%s", w, quiet)
		}
	}
}

func TestWriter(t *testing.T) {
	tax, _ := DefaultTaxonomy()
	in := ReplyInput{State: ReplyAccepted, Category: "ROAD", TrackingNo: "HX20261128-0042", CitizenName: "李女士，电话13912345678", Deadline: time.Date(2026, 11, 30, 17, 0, 0, 0, cst)}
	draft, err := DraftReply(tax, in)
	if err != nil {
		t.Fatal(err)
	}
	var sent string
	cases := []struct {
		name       string
		model      ChatModel
		wantSource string
	}{
		{"offline", nil, "template"},
		{"polished", chatFunc(func(_ context.Context, _, user string) (string, error) {
			sent = user
			return "李女士您好，您反映的道路问题已受理（编号HX20261128-0042），我们会在2026年11月30日17时前答复您。", nil
		}), "model:test"},
		{"drops a figure", chatFunc(func(context.Context, string, string) (string, error) { return "您好，已受理。", nil }), "template"},
		{"error", chatFunc(func(context.Context, string, string) (string, error) { return "", errors.New("boom") }), "template"},
		{"empty", chatFunc(func(context.Context, string, string) (string, error) { return "  ", nil }), "template"},
		{"too long", chatFunc(func(context.Context, string, string) (string, error) { return strings.Repeat(draft, 5), nil }), "template"},
		{"timeout", chatFunc(func(ctx context.Context, _, _ string) (string, error) {
			<-ctx.Done()
			return "", ctx.Err()
		}), "template"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWriter(tax, tc.model, ModelOptions{Name: "test", Timeout: 50 * time.Millisecond})
			got, err := w.Reply(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if got.Source != tc.wantSource {
				t.Errorf("source %s (fallback %q)", got.Source, got.Fallback)
			}
			if got.Source == "template" && got.Text != draft {
				t.Errorf("fallback text differs from the template")
			}
			if tc.model != nil && got.Source == "template" && got.Fallback == "" {
				t.Error("fallback reason missing")
			}
		})
	}
	if strings.Contains(sent, "13912345678") || !strings.Contains(sent, "[手机号]") {
		t.Errorf("reply sent unmasked: %s", sent)
	}
	b := NewWriter(tax, nil, ModelOptions{}).Brief(context.Background(), sampleBrief())
	if b.Source != "template" || !strings.Contains(b.Text, "河西区城市运行日报") {
		t.Errorf("brief %+v", b)
	}
}

func TestModelTriagerFallback(t *testing.T) {
	c := testClassifier(t)
	cases := []struct {
		name       string
		reply      string
		err        error
		wantSource string
		wantCat    string
		wantUrg    string
	}{
		{"accepts", `{"category":"PROPERTY","urgency":"urgent","confidence":0.8,"reason":"电梯"}`, nil, "model:m", "PROPERTY", UrgencyEmergency},
		{"bad confidence", `{"category":"PROPERTY","urgency":"whatever","confidence":7}`, nil, "model:m", "PROPERTY", UrgencyEmergency},
		{"unknown category", `{"category":"LIFT","urgency":"urgent"}`, nil, "offline", "PROPERTY", UrgencyEmergency},
		{"no json", `电梯问题`, nil, "offline", "PROPERTY", UrgencyEmergency},
		{"error", ``, errors.New("connection refused"), "offline", "PROPERTY", UrgencyEmergency},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := chatFunc(func(context.Context, string, string) (string, error) { return tc.reply, tc.err })
			mt := NewModelTriager(m, c, ModelOptions{Name: "m"})
			r, err := mt.Triage(context.Background(), "电梯坏了，我妈被困在里面")
			if err != nil {
				t.Fatal(err)
			}
			if r.Source != tc.wantSource || r.Category != tc.wantCat || r.Urgency != tc.wantUrg {
				t.Errorf("%+v", r)
			}
			if tc.name == "bad confidence" && r.Confidence != 0.5 {
				t.Errorf("confidence %.2f", r.Confidence)
			}
		})
	}
}
