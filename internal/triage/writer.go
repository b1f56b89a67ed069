package triage

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// Writer produces the texts staff send or read: drafted replies and daily briefs. Without
// a model it returns the template text; with one it asks the model to rewrite the
// template text (masked first) and keeps the template text whenever the model fails,
// times out or returns something that drops a figure. Staff edit either before sending.
// A Writer is safe for concurrent use if its ChatModel is.
type Writer struct {
	tax   *Taxonomy
	model ChatModel // nil: offline only
	opts  ModelOptions
	// digits finds the figures a rewrite must keep.
	digits *regexp.Regexp
}

// NewWriter returns a Writer over the taxonomy; model may be nil.
func NewWriter(tax *Taxonomy, model ChatModel, opts ModelOptions) *Writer {
	return &Writer{tax: tax, model: model, opts: opts.withDefaults(), digits: regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)}
}

// Text is a drafted text and who wrote it.
type Text struct {
	Text     string `json:"text"`
	Source   string `json:"source"`             // "template" or "model:<name>"
	Fallback string `json:"fallback,omitempty"` // why the model's text was not used
}

// Reply drafts the reply to a citizen; see DraftReply for the errors.
func (w *Writer) Reply(ctx context.Context, in ReplyInput) (Text, error) {
	draft, err := DraftReply(w.tax, in)
	if err != nil {
		return Text{}, err
	}
	return w.polish(ctx, "给市民的办理情况回复（语气亲切、简洁，不超过150字）", draft), nil
}

// Brief drafts the daily situation brief.
func (w *Writer) Brief(ctx context.Context, in BriefInput) Text {
	return w.polish(ctx, "城市运行日报（保持分节结构，语言简练、正式）", DraftBrief(w.tax, in))
}

func (w *Writer) polish(ctx context.Context, kind, draft string) Text {
	t := Text{Text: draft, Source: "template"}
	if w.model == nil {
		return t
	}
	masked := w.opts.Mask(draft)
	ctx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
	defer cancel()
	system := "你是政务服务文字助理。请润色用户给出的" + kind + "。必须保留全部数字、编号、日期和事实，不得编造，不要添加解释，只输出润色后的正文。"
	out, err := w.model.Chat(ctx, system, masked)
	if err != nil {
		t.Fallback = fmt.Sprintf("model error: %v", err)
		return t
	}
	out = strings.TrimSpace(strings.Trim(strings.TrimSpace(out), "`"))
	if out == "" {
		t.Fallback = "model returned no text"
		return t
	}
	if runeLen(out) > 2*runeLen(masked)+200 {
		t.Fallback = "model text too long"
		return t
	}
	for _, d := range w.digits.FindAllString(masked, -1) {
		if !strings.Contains(out, d) {
			t.Fallback = "model text dropped the figure " + d
			return t
		}
	}
	return Text{Text: out, Source: "model:" + w.opts.Name}
}
