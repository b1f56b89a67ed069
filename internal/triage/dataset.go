package triage

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

//go:embed data/reports.jsonl
var reportsJSONL string

// Example is one labelled report of the data set.
type Example struct {
	Text     string `json:"text"`
	Category string `json:"category"`
	Urgency  string `json:"urgency"`
	Split    string `json:"split"` // "train" or "test"
	// Template names the generator template the line came from: CATEGORY/subtopic/phrasing.
	Template string `json:"template,omitempty"`
}

// Data-set splits.
const (
	SplitTrain = "train"
	SplitTest  = "test"
)

// Examples returns the embedded labelled data set (both splits), in file order.
func Examples() ([]Example, error) {
	return ParseExamples(reportsJSONL)
}

// ParseExamples parses JSON lines of Example.
func ParseExamples(jsonl string) ([]Example, error) {
	var out []Example
	sc := bufio.NewScanner(strings.NewReader(jsonl))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		l := strings.TrimSpace(sc.Text())
		if l == "" {
			continue
		}
		var e Example
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			return nil, fmt.Errorf("triage: data line %d: %w", n, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("triage: data: %w", err)
	}
	return out, nil
}

// SplitOf returns the examples of one split.
func SplitOf(all []Example, split string) []Example {
	var out []Example
	for _, e := range all {
		if e.Split == split {
			out = append(out, e)
		}
	}
	return out
}
