package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/citybrain/citybrain/internal/llm"
	"github.com/citybrain/citybrain/internal/triage"
)

// cmdTriageClassify classifies JSON lines from stdin with the shipped offline model (or an
// OpenAI-compatible model with the offline one as fallback). It needs no server and no
// data directory.
func cmdTriageClassify(ctx context.Context, c *cli) error {
	fs := flag.NewFlagSet("triage classify", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	var url, model, key string
	var timeout time.Duration
	fs.StringVar(&url, "llm-url", c.env["CITYBRAIN_LLM_URL"], "OpenAI-compatible base URL (e.g. http://127.0.0.1:11434/v1); empty uses only the offline model")
	fs.StringVar(&model, "llm-model", c.env["CITYBRAIN_LLM_MODEL"], "model name for --llm-url")
	fs.StringVar(&key, "llm-key", c.env["CITYBRAIN_LLM_KEY"], "API key for --llm-url")
	fs.DurationVar(&timeout, "llm-timeout", 10*time.Second, "time limit per model call before the offline model answers")
	fs.Usage = func() {
		fmt.Fprint(c.stderr, `Usage: citybrain triage classify [flags] < reports.jsonl

智能分拨：reads JSON lines with a "text" field on stdin (other fields are ignored; "id"
is echoed) and writes one JSON line per input on stdout with
  category          the taxonomy code (ROAD, DRAINAGE, ...)
  category_name_zh  the category's Chinese name
  confidence        the probability of that category, 0..1
  urgency           emergency, urgent or normal
  department        the lead department code (department_name_zh beside it)
  reasons           the words of the text that weighed most; alternatives
A bad line gives a line with an "error" field; processing continues.
It uses the offline model shipped in the binary: no server and no data directory.
With --llm-url the model triages first (personal data masked) and the offline model
answers whenever it fails or times out.

Example:
  echo '{"text":"小区门口下水道堵了，污水漫到路上"}' | citybrain triage classify

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(c.args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return &exitError{code: 2, msg: "citybrain triage classify: " + err.Error()}
	}
	if fs.NArg() > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("citybrain triage classify: unexpected argument %q (input is read from stdin)", fs.Arg(0))}
	}
	offline, err := triage.New()
	if err != nil {
		return fmt.Errorf("triage classify: %w", err)
	}
	var t triage.Triager = offline
	if url != "" {
		client, err := llm.New(llm.Config{BaseURL: url, Model: model, APIKey: key, Timeout: timeout})
		if err != nil {
			return &exitError{code: 2, msg: "citybrain triage classify: " + err.Error()}
		}
		t = triage.NewModelTriager(client, offline, triage.ModelOptions{Name: model, Timeout: timeout})
	}
	return triage.ClassifyLines(ctx, t, c.stdin, c.stdout)
}

// cmdTriageEval reproduces the figures of docs/triage.md: it trains the offline model on
// the shipped training split and evaluates it on the held-out split.
func cmdTriageEval(ctx context.Context, c *cli) error {
	fs := flag.NewFlagSet("triage eval", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	asJSON := fs.Bool("json", false, "print the evaluation as JSON instead of Markdown tables")
	fs.Usage = func() {
		fmt.Fprint(c.stderr, `Usage: citybrain triage eval [--json]

Trains the offline triage model on the training split of the shipped data set and prints
its accuracy, per-category precision and recall and the confusions on the held-out split
(the figures of docs/triage.md), with the training time.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(c.args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return &exitError{code: 2, msg: "citybrain triage eval: " + err.Error()}
	}
	start := time.Now()
	cl, err := triage.New()
	if err != nil {
		return fmt.Errorf("triage eval: %w", err)
	}
	trained := time.Since(start)
	all, err := triage.Examples()
	if err != nil {
		return fmt.Errorf("triage eval: %w", err)
	}
	test := triage.SplitOf(all, triage.SplitTest)
	start = time.Now()
	ev := triage.Evaluate(cl, test)
	took := time.Since(start)
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ev)
	}
	fmt.Fprintf(c.stdout, "Trained on %d reports in %v; classified %d held-out reports in %v (%.0f reports/s).\n\n",
		len(all)-len(test), trained.Round(time.Millisecond), len(test), took.Round(time.Millisecond), float64(len(test))/took.Seconds())
	fmt.Fprint(c.stdout, ev.Markdown(cl.Taxonomy()))
	return nil
}
