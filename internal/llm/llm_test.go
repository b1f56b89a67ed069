package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/llm"
	"github.com/citybrain/citybrain/internal/triage"
)

// fake is an OpenAI-compatible endpoint whose answer the test chooses.
type fake struct {
	mu     sync.Mutex
	bodies []string
	auth   string
	status int
	answer string        // the raw response body; "" builds one from content
	delay  time.Duration // sleep before answering
	reply  string        // content of the first choice
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.bodies = append(f.bodies, string(b))
	f.auth = r.Header.Get("Authorization")
	status, answer, delay, reply := f.status, f.answer, f.delay, f.reply
	f.mu.Unlock()
	if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if status == 0 {
		status = 200
	}
	if answer == "" {
		out, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": reply}}}})
		answer = string(out)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, answer)
}

func (f *fake) lastBody() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bodies) == 0 {
		return ""
	}
	return f.bodies[len(f.bodies)-1]
}

func newClient(t *testing.T, url string, timeout time.Duration) *llm.Client {
	t.Helper()
	c, err := llm.New(llm.Config{BaseURL: url + "/v1", Model: "fake-model", APIKey: "sk-test", Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []llm.Config{
		{BaseURL: "", Model: "m"},
		{BaseURL: "ftp://x/v1", Model: "m"},
		{BaseURL: "http:///v1", Model: "m"},
		{BaseURL: "http://127.0.0.1:1/v1", Model: ""},
	} {
		if _, err := llm.New(cfg); citybrain.ErrorCode(err) != citybrain.EINVALID {
			t.Errorf("New(%+v) = %v, want EINVALID", cfg, err)
		}
	}
}

func TestChat(t *testing.T) {
	f := &fake{reply: "你好"}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := newClient(t, srv.URL, 2*time.Second)

	got, err := c.Chat(context.Background(), "sys", "用户")
	if err != nil || got != "你好" {
		t.Fatalf("Chat = %q, %v", got, err)
	}
	if f.auth != "Bearer sk-test" {
		t.Errorf("Authorization = %q", f.auth)
	}
	var req struct {
		Model    string `json:"model"`
		Messages []struct{ Role, Content string }
	}
	if err := json.Unmarshal([]byte(f.lastBody()), &req); err != nil {
		t.Fatal(err)
	}
	if req.Model != "fake-model" || len(req.Messages) != 2 || req.Messages[0].Role != "system" || req.Messages[1].Content != "用户" {
		t.Errorf("request = %+v", req)
	}
}

func TestChatErrors(t *testing.T) {
	cases := []struct {
		name string
		f    *fake
	}{
		{"status 500", &fake{status: 500, answer: `{"error":{"message":"overloaded"}}`}},
		{"status 401", &fake{status: 401, answer: `unauthorized`}},
		{"garbage", &fake{answer: `<html>not json</html>`}},
		{"no choices", &fake{answer: `{"choices":[]}`}},
		{"empty content", &fake{reply: "  "}},
		{"timeout", &fake{delay: 2 * time.Second, reply: "late"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.f)
			defer srv.Close()
			c := newClient(t, srv.URL, 200*time.Millisecond)
			_, err := c.Chat(context.Background(), "s", "u")
			if err == nil {
				t.Fatal("no error")
			}
			if code := citybrain.ErrorCode(err); code != citybrain.EUNAVAILABLE {
				t.Errorf("code = %s (%v), want unavailable", code, err)
			}
		})
	}
}

func TestChatHonoursContext(t *testing.T) {
	f := &fake{delay: 2 * time.Second, reply: "late"}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := newClient(t, srv.URL, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Chat(ctx, "s", "u")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

// TestModelTriager runs the model-backed triager against the fake endpoint: a good answer
// is used, every failure falls back to the offline classifier, and personal data never
// reaches the endpoint.
func TestModelTriager(t *testing.T) {
	offline, err := triage.New()
	if err != nil {
		t.Fatal(err)
	}
	const report = "我是张三，电话13812345678，身份证110101199003071234，小区门口下水道堵了，污水漫到路上"
	cases := []struct {
		name         string
		f            *fake
		wantSource   string
		wantCategory string
		wantFallback bool
	}{
		{"good answer", &fake{reply: "```json\n{\"category\":\"drainage\",\"urgency\":\"urgent\",\"confidence\":0.93,\"reason\":\"下水道堵塞\"}\n```"}, "model:fake-model", "DRAINAGE", false},
		{"model disagrees", &fake{reply: `{"category":"SANITATION","urgency":"normal","confidence":0.6}`}, "model:fake-model", "SANITATION", false},
		{"unknown code", &fake{reply: `{"category":"SEWER","urgency":"urgent","confidence":0.9}`}, "offline", "DRAINAGE", true},
		{"prose", &fake{reply: "这是排水问题。"}, "offline", "DRAINAGE", true},
		{"broken JSON", &fake{reply: `{"category": "DRAINAGE",`}, "offline", "DRAINAGE", true},
		{"garbage body", &fake{answer: "\x00\x01garbage"}, "offline", "DRAINAGE", true},
		{"server error", &fake{status: 503, answer: "busy"}, "offline", "DRAINAGE", true},
		{"timeout", &fake{delay: 3 * time.Second, reply: `{"category":"ROAD"}`}, "offline", "DRAINAGE", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.f)
			defer srv.Close()
			c := newClient(t, srv.URL, 30*time.Second)
			mt := triage.NewModelTriager(c, offline, triage.ModelOptions{Name: c.Model(), Timeout: 300 * time.Millisecond})
			start := time.Now()
			res, err := mt.Triage(context.Background(), report)
			if err != nil {
				t.Fatal(err)
			}
			if res.Source != tc.wantSource || res.Category != tc.wantCategory {
				t.Errorf("got %s from %s, want %s from %s (fallback %q)", res.Category, res.Source, tc.wantCategory, tc.wantSource, res.Fallback)
			}
			if (res.Fallback != "") != tc.wantFallback {
				t.Errorf("fallback = %q", res.Fallback)
			}
			if res.Department == "" || res.CategoryNameZh == "" || res.Urgency == "" {
				t.Errorf("incomplete result %+v", res)
			}
			if tc.name == "timeout" && time.Since(start) > 2*time.Second {
				t.Errorf("timeout not enforced: %v", time.Since(start))
			}
			body := tc.f.lastBody()
			if body == "" {
				t.Fatal("endpoint not called")
			}
			for _, pii := range []string{"13812345678", "110101199003071234"} {
				if strings.Contains(body, pii) {
					t.Errorf("personal data %s sent to the model", pii)
				}
			}
			if !strings.Contains(body, "下水道堵了") {
				t.Errorf("report text not sent: %s", body)
			}
		})
	}
}

// TestCustomMasker checks that the caller's masker (the governance one) is used.
func TestCustomMasker(t *testing.T) {
	f := &fake{reply: `{"category":"ROAD","urgency":"normal","confidence":0.8}`}
	srv := httptest.NewServer(f)
	defer srv.Close()
	offline, err := triage.New()
	if err != nil {
		t.Fatal(err)
	}
	mask := func(s string) string { return strings.ReplaceAll(s, "张三", "张*") }
	mt := triage.NewModelTriager(newClient(t, srv.URL, time.Second), offline, triage.ModelOptions{Mask: mask})
	if _, err := mt.Triage(context.Background(), "张三反映路面有坑"); err != nil {
		t.Fatal(err)
	}
	if body := f.lastBody(); strings.Contains(body, "张三") || !strings.Contains(body, "张*") {
		t.Errorf("masker not applied: %s", body)
	}
}
