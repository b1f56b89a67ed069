package triage

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestClassifyLines(t *testing.T) {
	c := testClassifier(t)
	in := strings.Join([]string{
		`{"id":7,"text":"小区门口井盖丢了，黑洞洞的","extra":"ignored"}`,
		`not json`,
		``,
		`{"foo":1}`,
		`{"text":42}`,
		`["text"]`,
		`{"text":"楼下烧烤店油烟太大"}`,
		`{"text":""}`,
	}, "\n") // no final newline
	var out bytes.Buffer
	if err := ClassifyLines(context.Background(), c, strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 7 {
		t.Fatalf("%d output lines, want 7:\n%s", len(lines), out.String())
	}
	type row struct {
		Line           int      `json:"line"`
		ID             any      `json:"id"`
		Category       string   `json:"category"`
		CategoryNameZh string   `json:"category_name_zh"`
		Confidence     *float64 `json:"confidence"`
		Urgency        string   `json:"urgency"`
		Department     string   `json:"department"`
		Error          string   `json:"error"`
	}
	want := []struct {
		line     int
		category string
		err      bool
	}{{1, "ROAD", false}, {2, "", true}, {4, "", true}, {5, "", true}, {6, "", true}, {7, "POLLUTION", false}, {8, "OTHER", false}}
	for i, l := range lines {
		var r row
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("output line %d not JSON: %s", i+1, l)
		}
		w := want[i]
		if r.Line != w.line || r.Category != w.category || (r.Error != "") != w.err {
			t.Errorf("output %d = %+v, want %+v", i+1, r, w)
		}
		if !w.err && (r.Confidence == nil || r.Urgency == "" || r.Department == "" || r.CategoryNameZh == "") {
			t.Errorf("output %d incomplete: %s", i+1, l)
		}
	}
	if !strings.Contains(lines[0], `"id":7`) || !strings.Contains(lines[0], `"urgency":"emergency"`) {
		t.Errorf("first line %s", lines[0])
	}
}

func TestClassifyLinesTooLong(t *testing.T) {
	c := testClassifier(t)
	in := `{"text":"` + strings.Repeat("路", MaxLineBytes) + `"}` + "\n" + `{"text":"路灯不亮"}` + "\n"
	var out bytes.Buffer
	if err := ClassifyLines(context.Background(), c, strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"error"`) || !strings.Contains(lines[1], "STREETLIGHT") {
		t.Fatalf("output:\n%.300s", out.String())
	}
}

func TestClassifyLinesCancelled(t *testing.T) {
	c := testClassifier(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ClassifyLines(ctx, c, strings.NewReader(`{"text":"x"}`), &bytes.Buffer{}); err == nil {
		t.Fatal("no error after cancel")
	}
}

// FuzzClassifyLines feeds arbitrary input: every non-blank line must give exactly one JSON
// output line, either a result or an error.
func FuzzClassifyLines(f *testing.F) {
	for _, s := range []string{
		`{"text":"井盖丢了"}`, "not json\n{\"text\":\"路灯\"}", `{"text":"\u0000"}`, "{\"text\":\"\xff\xfe\"}",
		"\n\n\n", `{"text":null}`, `{"text":"a","text":"b"}`, "{\"text\":\"" + strings.Repeat("啊", 100) + "\"}",
	} {
		f.Add(s)
	}
	c := testClassifier(f)
	f.Fuzz(func(t *testing.T, in string) {
		var out bytes.Buffer
		if err := ClassifyLines(context.Background(), c, strings.NewReader(in), &out); err != nil {
			t.Fatal(err)
		}
		nonBlank := 0
		for _, l := range strings.Split(strings.ReplaceAll(in, "\r\n", "\n"), "\n") {
			if strings.TrimSpace(strings.TrimSuffix(l, "\r")) != "" {
				nonBlank++
			}
		}
		got := 0
		for _, l := range strings.Split(out.String(), "\n") {
			if l == "" {
				continue
			}
			got++
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("output not JSON: %q", l)
			}
			if _, ok := m["category"]; !ok {
				if _, ok := m["error"]; !ok {
					t.Fatalf("neither category nor error: %q", l)
				}
			}
		}
		if got != nonBlank {
			t.Fatalf("%d non-blank input lines, %d output lines", nonBlank, got)
		}
	})
}
