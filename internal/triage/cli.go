package triage

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// MaxLineBytes is the longest input line RunClassify accepts; longer lines get an error
// line and are skipped.
const MaxLineBytes = 1 << 20

// classifyInput is the part of an input line RunClassify reads.
type classifyInput struct {
	ID   json.RawMessage `json:"id,omitempty"`
	Text *string         `json:"text"`
}

// classifyOutput is one output line of RunClassify.
type classifyOutput struct {
	Line           int             `json:"line"`
	ID             json.RawMessage `json:"id,omitempty"`
	Category       string          `json:"category,omitempty"`
	CategoryNameZh string          `json:"category_name_zh,omitempty"`
	Confidence     *float64        `json:"confidence,omitempty"`
	Urgency        string          `json:"urgency,omitempty"`
	Department     string          `json:"department,omitempty"`
	DepartmentZh   string          `json:"department_name_zh,omitempty"`
	Reasons        []string        `json:"reasons,omitempty"`
	Alternatives   []Alternative   `json:"alternatives,omitempty"`
	Source         string          `json:"source,omitempty"`
	Fallback       string          `json:"fallback,omitempty"`
	Error          string          `json:"error,omitempty"`
}

// RunClassify reads JSON lines with a "text" field from in (other fields are ignored; an
// "id" field is echoed) and writes one JSON line per non-blank input line to out with the
// category (a taxonomy code), category_name_zh, confidence, urgency, department, reasons
// and alternatives, using the shipped offline model. A line that is not a JSON object with
// a string "text" produces a line with an "error" field, and processing continues. It
// returns an error only when reading in or writing out fails, or ctx is cancelled.
func RunClassify(ctx context.Context, in io.Reader, out io.Writer) error {
	c, err := New()
	if err != nil {
		return err
	}
	return ClassifyLines(ctx, c, in, out)
}

// ClassifyLines is RunClassify with a given Triager (the offline classifier or a
// model-backed one).
func ClassifyLines(ctx context.Context, t Triager, in io.Reader, out io.Writer) error {
	r := bufio.NewReaderSize(in, 64*1024)
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			_ = w.Flush()
			return err
		}
		line, tooLong, err := readLine(r)
		if len(line) == 0 && err != nil {
			if err == io.EOF {
				break
			}
			_ = w.Flush()
			return fmt.Errorf("triage classify: read: %w", err)
		}
		n++
		if !tooLong && strings.TrimSpace(string(line)) == "" {
			continue
		}
		o := classifyOne(ctx, t, n, line, tooLong)
		if err := enc.Encode(o); err != nil {
			return fmt.Errorf("triage classify: write: %w", err)
		}
		if err == io.EOF {
			break
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("triage classify: write: %w", err)
	}
	return nil
}

// readLine reads one line without its newline; lines over MaxLineBytes are consumed and
// reported as too long.
func readLine(r *bufio.Reader) (line []byte, tooLong bool, err error) {
	for {
		chunk, isPrefix, e := r.ReadLine()
		if !tooLong {
			line = append(line, chunk...)
			if len(line) > MaxLineBytes {
				tooLong, line = true, line[:0]
			}
		}
		if e != nil {
			if tooLong {
				return []byte{0}, true, e
			}
			return line, false, e
		}
		if !isPrefix {
			if tooLong {
				return []byte{0}, true, nil
			}
			return line, false, nil
		}
	}
}

func classifyOne(ctx context.Context, t Triager, n int, line []byte, tooLong bool) classifyOutput {
	o := classifyOutput{Line: n}
	if tooLong {
		o.Error = fmt.Sprintf("line longer than %d bytes / 行过长", MaxLineBytes)
		return o
	}
	var in classifyInput
	if err := json.Unmarshal(line, &in); err != nil {
		o.Error = "not a JSON object / 不是JSON对象: " + err.Error()
		return o
	}
	o.ID = in.ID
	if in.Text == nil {
		o.Error = `missing "text" field / 缺少text字段`
		return o
	}
	if !utf8.ValidString(*in.Text) {
		o.Error = "text is not valid UTF-8 / 文本不是有效的UTF-8"
		return o
	}
	res, err := t.Triage(ctx, *in.Text)
	if err != nil {
		o.Error = err.Error()
		return o
	}
	conf := res.Confidence
	o.Category, o.CategoryNameZh, o.Confidence = res.Category, res.CategoryNameZh, &conf
	o.Urgency, o.Department, o.DepartmentZh = res.Urgency, res.Department, res.DepartmentZh
	o.Reasons, o.Alternatives, o.Source, o.Fallback = res.Reasons, res.Alternatives, res.Source, res.Fallback
	return o
}
