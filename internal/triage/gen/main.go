// Command gen writes the synthetic labelled data set of citizen reports that the offline
// triage classifier is trained and evaluated on (internal/triage/data/reports.jsonl).
//
// The reports are synthetic: they are expanded from several hundred hand-written
// "core" templates (one problem phrased one way, with [a|b] alternatives and {slot}
// values such as roads, communities, landmarks and times) wrapped in a dozen speech
// styles (12345 hotline records, app reports, transcribed phone calls, angry one-liners,
// short texts, mixed simple English), with optional side remarks about a second matter,
// typos of the kind people make with pinyin input, and dropped punctuation.
//
// The held-out test split is honest: every subtopic is written three times, in different
// phrasings (cores.go, paraphrases.go and the short terse.go), and one of the first two
// is used only for test lines; every fifth wrapper phrase is also test-only. So no sentence
// pattern of a test line was seen in training; what overlaps is the subject matter and
// the shared vocabulary (places, times, the domain's nouns), as with real reports. Each
// line names its template, so an evaluation can also hold out whole subtopics. The output
// is deterministic for a given -seed.
//
// Usage (from the repository root):
//
//	go run ./internal/triage/gen -out internal/triage/data/reports.jsonl
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"unicode/utf8"
)

// line is one labelled report as written to the JSONL file.
type line struct {
	Text     string `json:"text"`
	Category string `json:"category"`
	Urgency  string `json:"urgency"`
	Split    string `json:"split"`
	// Template names the subtopic and phrasing the line was expanded from
	// (CATEGORY/subtopic/phrasing), so evaluations can hold out whole subtopics.
	Template string `json:"template"`
}

func main() {
	out := flag.String("out", "internal/triage/data/reports.jsonl", "output file")
	seed := flag.Uint64("seed", 12345, "random seed")
	perTrain := flag.Int("train", 320, "training lines per category")
	perTest := flag.Int("test", 80, "held-out lines per category")
	flag.Parse()
	lines, err := generate(*seed, *perTrain, *perTest)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "gen: wrote %d lines to %s (%d templates)\n", len(lines), *out, countCores())
}

func countCores() int {
	n := 0
	for _, cs := range cores() {
		n += len(cs)
	}
	for _, ps := range paraphrases() {
		for _, p := range ps {
			n += len(strings.Split(p, "||"))
		}
	}
	for _, ts := range terse() {
		n += len(ts)
	}
	return n
}

// core is one parsed core template.
type core struct {
	urgency string // default urgency: normal, urgent, emergency
	tpl     string
	english bool
}

func parseCores(raw []string) []core {
	out := make([]core, 0, len(raw))
	for _, r := range raw {
		c := core{urgency: "normal"}
		switch {
		case strings.HasPrefix(r, "E|"):
			c.urgency, r = "emergency", r[2:]
		case strings.HasPrefix(r, "U|"):
			c.urgency, r = "urgent", r[2:]
		case strings.HasPrefix(r, "N|"):
			r = r[2:]
		}
		if strings.HasPrefix(r, "EN|") {
			c.english, r = true, r[3:]
		}
		c.tpl = r
		out = append(out, c)
	}
	return out
}

// isTestIndex reports whether the i-th wrapper phrase of a list is reserved for the held-out
// split: every fifth one, starting at the third.
func isTestIndex(i int) bool { return i%5 == 2 }

// expander expands templates with a random source; held selects the wrapper variants
// reserved for test lines.
type expander struct {
	r     *rand.Rand
	slots map[string][]string
	// escalate is set when an expansion picked an alternative marked ⚠ (emergency) or ⚡ (urgent).
	escalate string
}

// expand replaces [a|b|c] by one alternative (nested allowed) and {name} by a slot value.
func (e *expander) expand(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch s[i] {
		case '[':
			end := matching(s, i, '[', ']')
			alts := splitTop(s[i+1 : end])
			b.WriteString(e.expand(alts[e.r.IntN(len(alts))]))
			i = end + 1
		case '{':
			end := strings.IndexByte(s[i:], '}') + i
			name := s[i+1 : end]
			vals, ok := e.slots[name]
			if !ok {
				panic("unknown slot " + name + " in " + s)
			}
			b.WriteString(e.expand(vals[e.r.IntN(len(vals))]))
			i = end + 1
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			switch r {
			case '⚠':
				e.escalate = "emergency"
			case '⚡':
				if e.escalate == "" {
					e.escalate = "urgent"
				}
			default:
				b.WriteRune(r)
			}
			i += size
		}
	}
	return b.String()
}

func matching(s string, i int, open, close byte) int {
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case open:
			depth++
		case close:
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	panic("unbalanced " + string(open) + " in " + s)
}

func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for j := 0; j < len(s); j++ {
		switch s[j] {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		case '|':
			if depth == 0 {
				out = append(out, s[start:j])
				start = j + 1
			}
		}
	}
	return append(out, s[start:])
}

func rank(u string) int {
	switch u {
	case "emergency":
		return 2
	case "urgent":
		return 1
	}
	return 0
}

// generate builds perTrain training and perTest held-out lines per category.
//
// Each core template, its paraphrase and its terse form make a subtopic; for subtopic g
// the phrasing g%2 (core or paraphrase) is reserved for the held-out split and the other
// two are used for training, so the test lines never share a sentence pattern with the
// training lines.
func generate(seed uint64, perTrain, perTest int) ([]line, error) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	e := &expander{r: r, slots: slots()}
	all := cores()
	paras := paraphrases()
	short := terse()
	codes := make([]string, 0, len(all))
	for c := range all {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	sides := sideRemarks()
	seen := map[string]bool{}
	var out []line
	for _, code := range codes {
		cs := parseCores(all[code])
		ps := paras[code]
		ts := short[code]
		if len(ps) != len(cs) || len(ts) != len(cs) {
			return nil, fmt.Errorf("category %s: %d cores, %d paraphrases, %d terse", code, len(cs), len(ps), len(ts))
		}
		type phr struct {
			c  core
			id string
		}
		var train, test []phr
		for g, c := range cs {
			variants := []core{c}
			for _, p := range append(strings.Split(ps[g], "||"), ts[g]) {
				p = strings.TrimSpace(p)
				if p == "" {
					continue
				}
				v := core{urgency: c.urgency, tpl: p}
				if strings.HasPrefix(p, "EN|") {
					v.english, v.tpl = true, p[3:]
				}
				variants = append(variants, v)
			}
			if len(variants) < 2 {
				return nil, fmt.Errorf("category %s core %d has no paraphrase", code, g)
			}
			held := g % 2 // the terse phrasing (index 2) is always training
			for i, v := range variants {
				id := fmt.Sprintf("%s/%02d/%c", code, g, 'a'+i)
				if i == held {
					test = append(test, phr{v, id})
				} else {
					train = append(train, phr{v, id})
				}
			}
		}
		for _, part := range []struct {
			split string
			ps    []phr
			n     int
		}{{"train", train, perTrain}, {"test", test, perTest}} {
			made, tries := 0, 0
			for made < part.n {
				tries++
				if tries > part.n*200 {
					return nil, fmt.Errorf("category %s %s: only %d distinct lines", code, part.split, made)
				}
				p := part.ps[(made+tries)%len(part.ps)]
				text, urg := compose(e, p.c, code, part.split == "test", sides)
				if utf8.RuneCountInString(text) < 4 || seen[text] {
					continue
				}
				seen[text] = true
				out = append(out, line{Text: text, Category: code, Urgency: urg, Split: part.split, Template: p.id})
				made++
			}
		}
	}
	return out, nil
}

// compose renders one report from a core template in a randomly chosen style.
func compose(e *expander, c core, code string, held bool, sides map[string][]string) (string, string) {
	r := e.r
	e.escalate = ""
	body := e.expand(c.tpl)
	urg := c.urgency
	if rank(e.escalate) > rank(urg) {
		urg = e.escalate
	}
	w := wrappers()
	pick := func(name string) string {
		list := w[name]
		// Wrapper lists are split like templates: the held-out split uses only its own fifth.
		var sel []string
		for i, s := range list {
			if isTestIndex(i) == held {
				sel = append(sel, s)
			}
		}
		if len(sel) == 0 {
			sel = list
		}
		e.escalate = ""
		return e.expand(sel[r.IntN(len(sel))])
	}
	var text string
	if c.english {
		switch r.IntN(3) {
		case 0:
			text = body
		case 1:
			text = pick("en_open") + body
		default:
			text = body + pick("en_close")
		}
		return text, urg
	}
	style := r.IntN(100)
	switch {
	case style < 18: // 12345 hotline record, formal
		text = pick("hotline_open") + maybe(r, 50, pick("loc")+"，") + body + "。" + maybe(r, 40, pick("time")+"。") + pick("hotline_req")
	case style < 45: // app report, colloquial
		text = maybe(r, 40, pick("greet")) + maybe(r, 45, pick("loc")+"，") + maybe(r, 35, pick("time")+"，") + body + punct(r) + maybe(r, 45, pick("emotion")) + maybe(r, 60, pick("request"))
	case style < 60: // transcribed phone call
		text = pick("call_open") + maybe(r, 50, pick("loc")+"，") + body + "，" + maybe(r, 40, pick("filler")) + maybe(r, 45, pick("time")+"，") + pick("call_close")
	case style < 72: // short text, first clause(s) only
		text = shorten(r, body)
		if r.IntN(2) == 0 {
			text = pick("loc") + text
		}
	case style < 82: // angry
		text = body + "！" + maybe(r, 50, pick("time")+"！") + pick("angry") + strings.Repeat("！", r.IntN(3))
	case style < 90: // structured app form
		text = "【问题描述】" + body + "。【位置】" + pick("loc") + maybe(r, 50, "。【时间】"+pick("time")) + "。"
	default: // plain sentence with location at the end
		text = body + "，地点：" + pick("loc") + "。" + maybe(r, 50, pick("request"))
	}
	if r.IntN(100) < 14 { // a side remark about something else
		other := otherCode(r, code, sides)
		e.escalate = ""
		text += pick("side_join") + e.expand(sides[other][r.IntN(len(sides[other]))]) + "。"
	}
	if r.IntN(100) < 15 {
		text = typos(r, text)
	}
	if r.IntN(100) < 8 {
		text = stripPunct(text)
	}
	return text, urg
}

func maybe(r *rand.Rand, pct int, s string) string {
	if r.IntN(100) < pct {
		return s
	}
	return ""
}

func punct(r *rand.Rand) string {
	return []string{"，", "。", "！", "，", "。", " ", "～", "。。。"}[r.IntN(8)]
}

// shorten drops trailing clauses of a body with three or more, keeping at least two, so
// the short text still says what is wrong.
func shorten(r *rand.Rand, body string) string {
	parts := strings.Split(body, "，")
	if len(parts) <= 2 {
		return body
	}
	n := 2 + r.IntN(len(parts)-2)
	return strings.Join(parts[:n], "，")
}

func otherCode(r *rand.Rand, code string, sides map[string][]string) string {
	keys := make([]string, 0, len(sides))
	for k := range sides {
		if k != code {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys[r.IntN(len(keys))]
}

// typos applies a few substitutions people make with pinyin input methods.
func typos(r *rand.Rand, s string) string {
	subs := [][2]string{
		{"垃圾", "拉圾"}, {"已经", "以经"}, {"反映", "反应"}, {"在", "再"}, {"的", "得"},
		{"噪音", "燥音"}, {"暖气", "暖汽"}, {"燃气", "然气"}, {"一直", "一只"}, {"处理", "处里"},
		{"楼道", "楼到"}, {"小区", "小去"}, {"严重", "严种"}, {"现在", "现再"}, {"那个", "那各"},
		{"扰民", "饶民"}, {"井盖", "井该"}, {"路灯", "路登"}, {"漏水", "露水"}, {"物业", "无业"},
		{"工资", "公资"}, {"师傅", "师父"}, {"麻烦", "麻凡"}, {"希望", "希忘"}, {"电梯", "电题"},
	}
	n := 0
	for _, p := range subs {
		if strings.Contains(s, p[0]) && r.IntN(3) == 0 {
			s = strings.Replace(s, p[0], p[1], 1)
			n++
			if n >= 2 {
				break
			}
		}
	}
	return s
}

func stripPunct(s string) string {
	return strings.NewReplacer("，", " ", "。", " ", "！", "", "？", "", "、", "", "：", " ").Replace(s)
}
