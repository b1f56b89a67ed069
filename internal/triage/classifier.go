package triage

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// Urgency levels, the same words as the work-order priorities.
const (
	UrgencyEmergency = "emergency" // 紧急: life or property at risk now; feedback within 2 hours
	UrgencyUrgent    = "urgent"    // 较急: basic services out (water, heating...), hazards
	UrgencyNormal    = "normal"    // 一般
)

// urgencyLevels lists the urgency classes in the urgency model's order.
func urgencyLevels() []string { return []string{UrgencyNormal, UrgencyUrgent, UrgencyEmergency} }

// UrgencyLevelsZh maps each urgency to its Chinese name, for user interfaces.
func UrgencyLevelsZh() map[string]string {
	return map[string]string{UrgencyNormal: "一般", UrgencyUrgent: "较急", UrgencyEmergency: "紧急"}
}

// Result is the assistant's proposal for one report.
type Result struct {
	Category       string  `json:"category"`         // taxonomy code
	CategoryNameZh string  `json:"category_name_zh"` // 中文类别名
	CategoryNameEn string  `json:"category_name_en"`
	Confidence     float64 `json:"confidence"` // probability of Category, 0..1
	Urgency        string  `json:"urgency"`    // emergency, urgent or normal
	Department     string  `json:"department"` // lead department code
	DepartmentZh   string  `json:"department_name_zh"`
	// Reasons are the n-grams of the text that weighed most for Category, strongest first,
	// and the urgency rule that fired, if any ("紧急词: 燃气味").
	Reasons []string `json:"reasons,omitempty"`
	// Alternatives are the next most likely categories, most likely first.
	Alternatives []Alternative `json:"alternatives,omitempty"`
	// Source says who answered: "offline" or "model:<name>".
	Source string `json:"source"`
	// Fallback says why a model-backed triager answered offline (error, timeout, invalid
	// answer); empty otherwise.
	Fallback string `json:"fallback,omitempty"`
}

// Alternative is a runner-up category with its probability.
type Alternative struct {
	Category   string  `json:"category"`
	NameZh     string  `json:"name_zh"`
	Confidence float64 `json:"confidence"`
}

// Triager proposes a triage for a report's text. The offline *Classifier and the
// model-backed *ModelTriager implement it. Triage returns an error only when it cannot
// answer at all (the offline classifier never fails; the model-backed one falls back to
// the offline one instead of failing).
type Triager interface {
	Triage(ctx context.Context, text string) (Result, error)
}

var (
	_ Triager = (*Classifier)(nil)
	_ Triager = (*ModelTriager)(nil)
)

// Classifier is the offline triage model. It is immutable after construction and safe for
// concurrent use.
type Classifier struct {
	tax     *Taxonomy
	codes   []string
	levels  []string // urgency classes in the urgency model's order
	cat     *softmaxModel
	urg     *softmaxModel
	rules   []urgencyRule
	bufPool sync.Pool
	// temperature divides the category scores before the softmax (see
	// calibrationTemperature).
	temperature float64
}

// calibrationTemperature rescales the category model's scores so that Confidence is a
// calibrated probability on reports phrased unlike the training ones. It was fitted (by
// minimising the log-loss) on the training split alone: subtopics with index%5==0 lose
// their non-terse training phrasing, the model is trained on the rest and the temperature
// is fitted on the removed lines. TestCalibrationTemperature refits it and fails when
// this constant is stale.
const calibrationTemperature = 0.65

// rawScores returns the category model's scores for text before the softmax, or nil when
// the text has no known feature.
func (c *Classifier) rawScores(text string) []float64 {
	grams := extract(normalize(text), nil)
	rows := make([]int32, 0, len(grams))
	for _, g := range grams {
		if r, ok := c.cat.vocab[g.h]; ok {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	out := make([]float64, c.cat.k)
	c.cat.scoreRows(rows, 1/math.Sqrt(float64(len(grams))), out)
	return out
}

// New trains a Classifier on the training split of the embedded data set with the embedded
// taxonomy. It takes well under a second (see BenchmarkTrain).
func New() (*Classifier, error) {
	tax, err := DefaultTaxonomy()
	if err != nil {
		return nil, err
	}
	all, err := Examples()
	if err != nil {
		return nil, err
	}
	return Train(tax, SplitOf(all, SplitTrain))
}

// NewWith trains a Classifier on the embedded training split plus extra examples, for
// example the categories people chose in the human triage queue (the issue's "the human's
// choice is recorded as a training example"). Extra examples are used as they are; their
// Split field is ignored.
func NewWith(extra []Example) (*Classifier, error) {
	tax, err := DefaultTaxonomy()
	if err != nil {
		return nil, err
	}
	all, err := Examples()
	if err != nil {
		return nil, err
	}
	return Train(tax, append(SplitOf(all, SplitTrain), extra...))
}

// Train fits a Classifier on the examples. Every example's category must be in the
// taxonomy; an empty urgency counts as normal.
func Train(tax *Taxonomy, examples []Example) (*Classifier, error) {
	if len(examples) == 0 {
		return nil, fmt.Errorf("triage: no training examples")
	}
	codes := tax.Codes()
	idx := map[string]int{}
	for i, c := range codes {
		idx[c] = i
	}
	uidx := map[string]int{}
	for i, u := range urgencyLevels() {
		uidx[u] = i
	}
	feats := make([][]uint64, len(examples))
	ys := make([]int, len(examples))
	us := make([]int, len(examples))
	var buf []gram
	for i, e := range examples {
		y, ok := idx[e.Category]
		if !ok {
			return nil, fmt.Errorf("triage: example %d: unknown category %q", i+1, e.Category)
		}
		u, ok := uidx[e.Urgency]
		if !ok && e.Urgency != "" {
			return nil, fmt.Errorf("triage: example %d: unknown urgency %q", i+1, e.Urgency)
		}
		buf = extract(normalize(e.Text), buf)
		fs := make([]uint64, len(buf))
		for j, g := range buf {
			fs[j] = g.h
		}
		feats[i], ys[i], us[i] = fs, y, u
	}
	p := defaultTrainParams()
	levels := urgencyLevels()
	c := &Classifier{
		tax:    tax,
		codes:  codes,
		levels: levels,
		cat:    trainSoftmax(feats, ys, len(codes), p),
		urg:    trainSoftmax(feats, us, len(levels), urgencyParams(p)),
		rules:  emergencyRules(),

		temperature: calibrationTemperature,
	}
	c.bufPool.New = func() any { b := make([]gram, 0, 256); return &b }
	return c, nil
}

// Taxonomy returns the taxonomy the classifier was trained with.
func (c *Classifier) Taxonomy() *Taxonomy { return c.tax }

// Triage implements Triager; it never fails.
func (c *Classifier) Triage(_ context.Context, text string) (Result, error) {
	return c.Classify(text), nil
}

// Classify proposes a category, urgency and department for text. A text without any
// usable characters gets category OTHER with confidence 0, so it goes to a person.
func (c *Classifier) Classify(text string) Result {
	norm := normalize(text)
	bp := c.bufPool.Get().(*[]gram)
	grams := extract(norm, *bp)
	defer func() { *bp = grams[:0]; c.bufPool.Put(bp) }()

	rows := make([]int32, 0, len(grams))
	known := make([]gram, 0, len(grams))
	for _, g := range grams {
		if r, ok := c.cat.vocab[g.h]; ok {
			rows = append(rows, r)
			known = append(known, g)
		}
	}
	if len(rows) == 0 {
		return c.result("OTHER", 0, UrgencyNormal, nil, nil)
	}
	x := 1 / math.Sqrt(float64(len(grams)))
	probs := make([]float64, c.cat.k)
	c.cat.scoreRows(rows, x, probs)
	for i := range probs {
		probs[i] /= c.temperature
	}
	softmaxInPlace(probs)
	best := 0
	for i, p := range probs {
		if p > probs[best] {
			best = i
		}
	}
	order := make([]int, len(probs))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return probs[order[a]] > probs[order[b]] })
	var alts []Alternative
	for _, i := range order[1:4] {
		cat, _ := c.tax.Category(c.codes[i])
		alts = append(alts, Alternative{Category: c.codes[i], NameZh: cat.NameZh, Confidence: round3(probs[i])})
	}
	reasons := c.reasons(norm, known, rows, x, best)

	// Urgency: the urgency model, raised to emergency by an explicit rule.
	urows := make([]int32, 0, len(grams))
	for _, g := range grams {
		if r, ok := c.urg.vocab[g.h]; ok {
			urows = append(urows, r)
		}
	}
	up := make([]float64, c.urg.k)
	c.urg.scoreRows(urows, x, up)
	ub := 0
	for i, p := range up {
		if p > up[ub] {
			ub = i
		}
	}
	urgency := c.levels[ub]
	if w := c.matchEmergency(norm); w != "" {
		urgency = UrgencyEmergency
		reasons = append(reasons, "紧急词: "+w)
	}
	return c.result(c.codes[best], probs[best], urgency, reasons, alts)
}

func (c *Classifier) result(code string, p float64, urgency string, reasons []string, alts []Alternative) Result {
	cat, _ := c.tax.Category(code)
	dep, _ := c.tax.Department(cat.Department)
	return Result{
		Category: code, CategoryNameZh: cat.NameZh, CategoryNameEn: cat.NameEn,
		Confidence: round3(p), Urgency: urgency,
		Department: cat.Department, DepartmentZh: dep.NameZh,
		Reasons: reasons, Alternatives: alts, Source: "offline",
	}
}

// round3 rounds a probability to three decimals, keeping it below 1: a statistical model
// is never certain.
func round3(p float64) float64 { return math.Min(math.Round(p*1000)/1000, 0.999) }

// reasons returns up to five n-grams that pushed most toward class best relative to the
// average class, skipping n-grams that overlap one already chosen.
func (c *Classifier) reasons(norm string, known []gram, rows []int32, x float64, best int) []string {
	type contrib struct {
		g gram
		v float64
	}
	k := c.cat.k
	cs := make([]contrib, 0, len(rows))
	for i, r := range rows {
		row := c.cat.w[int(r)*k : int(r)*k+k]
		mean := 0.0
		for _, w := range row {
			mean += float64(w)
		}
		mean /= float64(k)
		v := (float64(row[best]) - mean) * x
		if v > 0 {
			// Longer n-grams read better as reasons ("燃气" rather than "气"): weigh by length.
			cs = append(cs, contrib{known[i], v * float64(utf8.RuneCountInString(norm[known[i].s:known[i].e]))})
		}
	}
	sort.Slice(cs, func(a, b int) bool { return cs[a].v > cs[b].v })
	var out []string
	var spans [][2]int32
next:
	for _, ct := range cs {
		for _, s := range spans {
			if ct.g.s < s[1] && s[0] < ct.g.e {
				continue next
			}
		}
		t := norm[ct.g.s:ct.g.e]
		if utf8.RuneCountInString(t) == 1 && len(out) >= 2 {
			continue
		}
		spans = append(spans, [2]int32{ct.g.s, ct.g.e})
		out = append(out, t)
		if len(out) == 5 {
			break
		}
	}
	return out
}

// urgencyRule is one pattern of immediate danger that makes a report an emergency whatever
// the model says; name is shown among the reasons.
type urgencyRule struct {
	name string
	re   *regexp.Regexp
}

// emergencyRules lists the patterns of immediate danger: gas leaks, burst mains, fire,
// people trapped or hurt, open manholes, collapses, live wires, vehicles in deep water.
// "…" in a pattern allows up to six characters between its parts.
func emergencyRules() []urgencyRule {
	gap := `[^。！？!?]{0,6}`
	var out []urgencyRule
	for _, p := range [][2]string{
		{"燃气泄漏", `(燃气|煤气|天然气|液化气)…(味|泄漏|漏气|往外漏|冒气|喷)|(燃气|煤气|天然气)(管|管道|管子)…(破|断|漏)|漏气|报警器…(响|叫)`},
		{"爆管", `(水管|自来水管|供水管|主管道|管道|管子)…(爆|破裂|爆裂|断)…(喷|涌|冒|淹|成河)|爆管`},
		{"火情", `着火|起火|失火|火灾|火光|烧起来|明火|火苗窜|浓烟滚滚`},
		{"人员被困", `被困|困在|困人|关在电梯|卡在半空|出不来…(人|喊)|(人|孩子|老人)…出不来`},
		{"人员受伤", `有人受伤|受伤倒|流血|拿着刀|持刀|拿刀|砍人|捅人|昏迷|倒地不起`},
		{"塌陷", `塌陷|塌了|陷下去…深|大坑…(米|深)`},
		{"井盖缺失", `井盖…(不见|丢|没了|没有了|被偷|偷走|缺失|掉了)|(没有|没了|丢了)…井盖|敞着…洞|manhole…(missing|open)`},
		{"触电危险", `触电|漏电|冒火花|打火花|电线…(裸露|垂到|掉到地)`},
		{"车辆涉水被困", `(熄火|泡)…(水里|积水)|积水…(熄火|被困)`},
		{"英文紧急词", `smell gas|gas (leak|smell)|on fire|trapped|fighting|someone hurt|injured`},
	} {
		out = append(out, urgencyRule{name: p[0], re: regexp.MustCompile(strings.ReplaceAll(p[1], "…", gap))})
	}
	return out
}

func (c *Classifier) matchEmergency(norm string) string {
	for _, r := range c.rules {
		if r.re.MatchString(norm) {
			return r.name
		}
	}
	return ""
}
