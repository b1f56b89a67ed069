package triage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// ChatModel is an OpenAI-compatible chat model: Chat sends a system and a user message
// and returns the text of the first choice. internal/llm.Client implements it. Chat must
// honour ctx's deadline; any error makes the caller use its offline answer.
type ChatModel interface {
	Chat(ctx context.Context, system, user string) (string, error)
}

// ModelOptions configure a ModelTriager or a Writer.
type ModelOptions struct {
	// Name identifies the model in Result.Source ("model:<Name>").
	Name string
	// Mask is applied to every text before it is sent; nil means DefaultMasker.
	Mask Masker
	// Timeout bounds one model call; 0 means 10 seconds.
	Timeout time.Duration
}

func (o ModelOptions) withDefaults() ModelOptions {
	if o.Mask == nil {
		o.Mask = DefaultMasker
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Name == "" {
		o.Name = "llm"
	}
	return o
}

// ModelTriager triages with a chat model and falls back to the offline Classifier on any
// error, timeout or invalid answer. It is safe for concurrent use if its ChatModel is.
type ModelTriager struct {
	model    ChatModel
	fallback *Classifier
	opts     ModelOptions
	system   string
}

// NewModelTriager returns a Triager that asks model and falls back to offline.
func NewModelTriager(model ChatModel, offline *Classifier, opts ModelOptions) *ModelTriager {
	return &ModelTriager{model: model, fallback: offline, opts: opts.withDefaults(), system: triagePrompt(offline.Taxonomy())}
}

// triagePrompt lists the taxonomy and the answer format for the model.
func triagePrompt(t *Taxonomy) string {
	var b strings.Builder
	b.WriteString("你是城市12345热线和数字城管的分拨员。根据市民诉求判断类别和紧急程度。\n")
	b.WriteString("You triage citizen reports. Categories (code: 名称 — examples):\n")
	for _, c := range t.Categories() {
		fmt.Fprintf(&b, "%s: %s / %s — %s\n", c.Code, c.NameZh, c.NameEn, strings.Join(c.ExamplesZh, "、"))
	}
	b.WriteString("Urgency: emergency (生命财产危险，如燃气泄漏、爆管、火情、人员被困受伤), urgent (水电气暖中断、安全隐患), normal.\n")
	b.WriteString(`Answer with one JSON object only: {"category":"CODE","urgency":"emergency|urgent|normal","confidence":0.0-1.0,"reason":"简短理由"}`)
	return b.String()
}

// modelAnswer is the JSON the model is asked for.
type modelAnswer struct {
	Category   string   `json:"category"`
	Urgency    string   `json:"urgency"`
	Confidence *float64 `json:"confidence"`
	Reason     string   `json:"reason"`
}

// Triage implements Triager. It never fails: when the model cannot answer, the result is
// the offline one with Fallback saying why.
func (m *ModelTriager) Triage(ctx context.Context, text string) (Result, error) {
	offline := m.fallback.Classify(text)
	res, err := m.ask(ctx, text, offline)
	if err != nil {
		offline.Fallback = err.Error()
		return offline, nil
	}
	return res, nil
}

func (m *ModelTriager) ask(ctx context.Context, text string, offline Result) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	out, err := m.model.Chat(ctx, m.system, "市民诉求 / report:\n"+m.opts.Mask(text))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return Result{}, fmt.Errorf("model timeout: %w", err)
		}
		return Result{}, fmt.Errorf("model error: %w", err)
	}
	ans, err := parseModelAnswer(out)
	if err != nil {
		return Result{}, err
	}
	tax := m.fallback.Taxonomy()
	code := strings.ToUpper(strings.TrimSpace(ans.Category))
	if _, ok := tax.Category(code); !ok {
		return Result{}, fmt.Errorf("model answered unknown category %q", ans.Category)
	}
	urgency := strings.ToLower(strings.TrimSpace(ans.Urgency))
	switch urgency {
	case UrgencyEmergency, UrgencyUrgent, UrgencyNormal:
	default:
		urgency = offline.Urgency
	}
	// Safety: an explicit danger rule of the offline path is never downgraded.
	if offline.Urgency == UrgencyEmergency {
		urgency = UrgencyEmergency
	}
	conf := 0.5
	if ans.Confidence != nil && *ans.Confidence >= 0 && *ans.Confidence <= 1 && !math.IsNaN(*ans.Confidence) {
		conf = *ans.Confidence
	}
	res := m.fallback.result(code, conf, urgency, nil, nil)
	if r := strings.TrimSpace(ans.Reason); r != "" {
		res.Reasons = append(res.Reasons, truncateRunes(r, 80))
	}
	if code != offline.Category {
		res.Alternatives = append(res.Alternatives, Alternative{Category: offline.Category, NameZh: offline.CategoryNameZh, Confidence: offline.Confidence})
	} else {
		res.Reasons = append(res.Reasons, offline.Reasons...)
	}
	res.Source = "model:" + m.opts.Name
	return res, nil
}

// parseModelAnswer finds the JSON object in a model's reply (which may be wrapped in a
// code fence or prose).
func parseModelAnswer(s string) (modelAnswer, error) {
	var a modelAnswer
	i := strings.IndexByte(s, '{')
	j := strings.LastIndexByte(s, '}')
	if i < 0 || j < i {
		return a, fmt.Errorf("model answer has no JSON object")
	}
	if err := json.Unmarshal([]byte(s[i:j+1]), &a); err != nil {
		return a, fmt.Errorf("model answer is not valid JSON: %w", err)
	}
	if a.Category == "" {
		return a, fmt.Errorf("model answer has no category")
	}
	return a, nil
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
