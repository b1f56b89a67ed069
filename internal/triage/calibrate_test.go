package triage

import (
	"math"
	"strings"
	"testing"
)

// fitTemperature returns the temperature that minimises the log-loss of c on examples.
func fitTemperature(c *Classifier, examples []Example) (best float64, loss float64) {
	idx := map[string]int{}
	for i, code := range c.codes {
		idx[code] = i
	}
	type scored struct {
		s []float64
		y int
	}
	var data []scored
	for _, e := range examples {
		if s := c.rawScores(e.Text); s != nil {
			data = append(data, scored{s, idx[e.Category]})
		}
	}
	loss = math.Inf(1)
	p := make([]float64, len(c.codes))
	for t := 0.2; t <= 2.0001; t += 0.05 {
		l := 0.0
		for _, d := range data {
			for i := range p {
				p[i] = d.s[i] / t
			}
			softmaxInPlace(p)
			l -= math.Log(math.Max(p[d.y], 1e-12))
		}
		l /= float64(len(data))
		if l < loss {
			best, loss = t, l
		}
	}
	return best, loss
}

func TestCalibrationTemperature(t *testing.T) {
	if testing.Short() {
		t.Skip("trains an extra model")
	}
	tax, err := DefaultTaxonomy()
	if err != nil {
		t.Fatal(err)
	}
	all, err := Examples()
	if err != nil {
		t.Fatal(err)
	}
	var fit, val []Example
	for _, e := range SplitOf(all, SplitTrain) {
		parts := strings.Split(e.Template, "/")
		if len(parts) == 3 && parts[2] != "c" && len(parts[1]) == 2 && (parts[1][1]-'0')%5 == 0 {
			val = append(val, e)
		} else {
			fit = append(fit, e)
		}
	}
	if len(val) < 100 {
		t.Fatalf("validation set too small: %d", len(val))
	}
	c, err := Train(tax, fit)
	if err != nil {
		t.Fatal(err)
	}
	temp, loss := fitTemperature(c, val)
	t.Logf("fitted temperature %.2f (log-loss %.3f on %d lines); constant %.2f", temp, loss, len(val), calibrationTemperature)
	if math.Abs(temp-calibrationTemperature) > 0.1 {
		t.Errorf("calibrationTemperature %.2f is stale: refit gives %.2f", calibrationTemperature, temp)
	}
}
