// Package triage is the citizen-report assistant: it proposes a taxonomy category, an
// urgency and a lead department for a report's text, drafts replies to citizens and writes
// the daily situation brief.
//
// It works offline by default. The offline Classifier is a multinomial logistic regression
// over character n-grams (Han uni-, bi- and trigrams plus ASCII words), trained at start-up
// from the labelled synthetic data set embedded in data/reports.jsonl (its training split
// only; the held-out split is used by Evaluate and never for training). The category
// dictionary and the category → department table are embedded copies of the project's
// taxonomy (data/categories.tsv, data/departments.tsv); nothing is read from disk at run time.
//
// Optionally a ModelTriager asks an OpenAI-compatible chat model (through a ChatModel the
// caller supplies, for example internal/llm.Client) and falls back to the offline
// classifier on any error, timeout or invalid answer. Every text sent to a model passes
// through a Masker first, so personal data does not leave unmasked.
//
// Concurrency: a Classifier, a ModelTriager and a Writer are immutable after construction
// and safe for concurrent use by any number of goroutines. The package holds no global
// mutable state.
package triage

//go:generate go run ./gen -out data/reports.jsonl
