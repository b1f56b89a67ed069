package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestTriageClassifyCommand(t *testing.T) {
	in := `{"text":"小区门口下水道堵了，污水漫到路上","id":1}` + "\nnot json\n" + `{"text":"楼道里有很浓的燃气味"}` + "\n"
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"triage", "classify"}, nil, strings.NewReader(in), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	var first, second, third map[string]any
	for i, p := range []*map[string]any{&first, &second, &third} {
		if err := json.Unmarshal([]byte(lines[i]), p); err != nil {
			t.Fatal(err)
		}
	}
	if first["category"] != "DRAINAGE" || first["department"] != "WATER" || first["confidence"] == nil || first["category_name_zh"] != "排水与积水" {
		t.Errorf("first: %v", first)
	}
	if second["error"] == nil {
		t.Errorf("second: %v", second)
	}
	if third["category"] != "HEATING_GAS" || third["urgency"] != "emergency" {
		t.Errorf("third: %v", third)
	}
}

// TestTriageClassifyWithModel uses a fake OpenAI-compatible endpoint that times out: the
// offline model must answer.
func TestTriageClassifyWithModel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Second):
		}
	}))
	defer srv.Close()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"triage", "classify", "--llm-url", srv.URL + "/v1", "--llm-model", "m", "--llm-timeout", "200ms"},
		nil, strings.NewReader(`{"text":"路灯不亮"}`), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), `"category":"STREETLIGHT"`) || !strings.Contains(out.String(), `"fallback"`) {
		t.Errorf("output %s", out.String())
	}
}

func TestTriageEvalCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"triage", "eval"}, nil, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, w := range []string{"Top-1 accuracy", "| DRAINAGE | 排水与积水 |", "Confusions"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q", w)
		}
	}
}
