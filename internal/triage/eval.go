package triage

import (
	"fmt"
	"sort"
	"strings"
)

// ClassMetrics are one category's figures on an evaluation set.
type ClassMetrics struct {
	Category  string  `json:"category"`
	Support   int     `json:"support"` // examples whose true category this is
	Predicted int     `json:"predicted"`
	Correct   int     `json:"correct"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// Confusion is one off-diagonal cell of the confusion table.
type Confusion struct {
	True      string `json:"true"`
	Predicted string `json:"predicted"`
	Count     int    `json:"count"`
}

// Evaluation is the outcome of classifying a labelled set.
type Evaluation struct {
	N               int            `json:"n"`
	Accuracy        float64        `json:"accuracy"` // top-1 category accuracy
	Top2Accuracy    float64        `json:"top2_accuracy"`
	MacroF1         float64        `json:"macro_f1"`
	UrgencyAccuracy float64        `json:"urgency_accuracy"`
	EmergencyRecall float64        `json:"emergency_recall"` // of true emergencies, how many were flagged
	ECE             float64        `json:"ece"`              // expected calibration error of Confidence, 10 bins
	PerClass        []ClassMetrics `json:"per_class"`
	// Matrix[i][j] counts examples of Codes[i] predicted as Codes[j].
	Codes  []string `json:"codes"`
	Matrix [][]int  `json:"matrix"`
	// Confusions are the off-diagonal cells, largest first.
	Confusions []Confusion `json:"confusions"`
}

// Evaluate classifies the examples with t and computes accuracy, per-category precision
// and recall, the confusion table, urgency accuracy and calibration error.
func Evaluate(c *Classifier, examples []Example) Evaluation {
	codes := c.codes
	idx := map[string]int{}
	for i, code := range codes {
		idx[code] = i
	}
	ev := Evaluation{N: len(examples), Codes: codes, Matrix: make([][]int, len(codes))}
	for i := range ev.Matrix {
		ev.Matrix[i] = make([]int, len(codes))
	}
	const bins = 10
	var binN [bins]int
	var binConf, binAcc [bins]float64
	correct, top2, urgOK, emTotal, emHit := 0, 0, 0, 0, 0
	for _, e := range examples {
		r := c.Classify(e.Text)
		ti, ok := idx[e.Category]
		if !ok {
			continue
		}
		pi := idx[r.Category]
		ev.Matrix[ti][pi]++
		hit := 0.0
		if pi == ti {
			correct++
			top2++
			hit = 1
		} else if len(r.Alternatives) > 0 && r.Alternatives[0].Category == e.Category {
			top2++
		}
		b := int(r.Confidence * bins)
		if b >= bins {
			b = bins - 1
		}
		binN[b]++
		binConf[b] += r.Confidence
		binAcc[b] += hit
		want := e.Urgency
		if want == "" {
			want = UrgencyNormal
		}
		if r.Urgency == want {
			urgOK++
		}
		if want == UrgencyEmergency {
			emTotal++
			if r.Urgency == UrgencyEmergency {
				emHit++
			}
		}
	}
	n := float64(max(len(examples), 1))
	ev.Accuracy = float64(correct) / n
	ev.Top2Accuracy = float64(top2) / n
	ev.UrgencyAccuracy = float64(urgOK) / n
	if emTotal > 0 {
		ev.EmergencyRecall = float64(emHit) / float64(emTotal)
	}
	for b := 0; b < bins; b++ {
		if binN[b] > 0 {
			d := binConf[b]/float64(binN[b]) - binAcc[b]/float64(binN[b])
			if d < 0 {
				d = -d
			}
			ev.ECE += d * float64(binN[b]) / n
		}
	}
	f1sum := 0.0
	for i, code := range codes {
		m := ClassMetrics{Category: code}
		for j := range codes {
			m.Support += ev.Matrix[i][j]
			m.Predicted += ev.Matrix[j][i]
			if i != j && ev.Matrix[i][j] > 0 {
				ev.Confusions = append(ev.Confusions, Confusion{True: code, Predicted: codes[j], Count: ev.Matrix[i][j]})
			}
		}
		m.Correct = ev.Matrix[i][i]
		if m.Predicted > 0 {
			m.Precision = float64(m.Correct) / float64(m.Predicted)
		}
		if m.Support > 0 {
			m.Recall = float64(m.Correct) / float64(m.Support)
		}
		if m.Precision+m.Recall > 0 {
			m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
		}
		f1sum += m.F1
		ev.PerClass = append(ev.PerClass, m)
	}
	ev.MacroF1 = f1sum / float64(len(codes))
	sort.SliceStable(ev.Confusions, func(a, b int) bool { return ev.Confusions[a].Count > ev.Confusions[b].Count })
	return ev
}

// Markdown renders the evaluation as the tables of docs/triage.md.
func (ev Evaluation) Markdown(tax *Taxonomy) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Held-out reports: %d. Top-1 accuracy **%.1f%%**, top-2 %.1f%%, macro F1 %.3f, urgency accuracy %.1f%%, emergency recall %.1f%%, calibration error (ECE) %.3f.\n\n",
		ev.N, ev.Accuracy*100, ev.Top2Accuracy*100, ev.MacroF1, ev.UrgencyAccuracy*100, ev.EmergencyRecall*100, ev.ECE)
	b.WriteString("| code | 类别 | n | precision | recall | F1 |\n|---|---|---:|---:|---:|---:|\n")
	for _, m := range ev.PerClass {
		cat, _ := tax.Category(m.Category)
		fmt.Fprintf(&b, "| %s | %s | %d | %.2f | %.2f | %.2f |\n", m.Category, cat.NameZh, m.Support, m.Precision, m.Recall, m.F1)
	}
	b.WriteString("\nConfusions (true → predicted, count), those seen at least twice:\n\n")
	singles := 0
	for _, cf := range ev.Confusions {
		if cf.Count < 2 {
			singles++
			continue
		}
		fmt.Fprintf(&b, "- %s → %s: %d\n", cf.True, cf.Predicted, cf.Count)
	}
	fmt.Fprintf(&b, "- and %d other pairs seen once.\n", singles)
	b.WriteString("\nConfusion table (rows: true category, columns: predicted, numbered as the rows):\n\n| # | true \\ predicted |")
	for i := range ev.Codes {
		fmt.Fprintf(&b, " %d |", i+1)
	}
	b.WriteString("\n|---:|---|")
	for range ev.Codes {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for i, code := range ev.Codes {
		fmt.Fprintf(&b, "| %d | %s |", i+1, code)
		for j := range ev.Codes {
			switch {
			case ev.Matrix[i][j] == 0:
				b.WriteString(" · |")
			case i == j:
				fmt.Fprintf(&b, " **%d** |", ev.Matrix[i][j])
			default:
				fmt.Fprintf(&b, " %d |", ev.Matrix[i][j])
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}
