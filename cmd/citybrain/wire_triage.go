package main

import (
	"context"
	"fmt"

	"github.com/citybrain/citybrain/internal/governance"
	"github.com/citybrain/citybrain/internal/httpapi"
	"github.com/citybrain/citybrain/internal/llm"
	"github.com/citybrain/citybrain/internal/triage"
)

// wireTriage connects the assistant: the offline classifier (trained on first use), the
// optional OpenAI-compatible model from --llm-url with the governance masker in front of
// it, the reply and brief writer, and the /api/v1/triage routes.
func wireTriage(ctx context.Context, a *app) error {
	var model triage.ChatModel
	name := ""
	if a.cfg.LLMURL != "" {
		c, err := llm.New(llm.Config{BaseURL: a.cfg.LLMURL, Model: a.cfg.LLMModel, APIKey: a.cfg.LLMKey, Timeout: a.cfg.LLMTimeout})
		if err != nil {
			return fmt.Errorf("assistant model: %w", err)
		}
		model, name = c, c.Model()
		a.log.Info("assistant uses an external model; texts are masked before sending", "model", name)
	}
	mask := triage.Masker(triage.DefaultMasker)
	if a.governance != nil {
		m := a.governance.Enforcer().Masker()
		// The governance masker finds names, addresses and the rest; the default one is a
		// second net for numbers.
		mask = func(s string) string { return triage.DefaultMasker(m.MaskText(s, governance.GradeGeneral4)) }
	}
	opts := triage.ModelOptions{Name: name, Mask: mask, Timeout: a.cfg.LLMTimeout}
	a.triager = triage.NewLazy(model, opts)
	tax, err := triage.DefaultTaxonomy()
	if err != nil {
		return fmt.Errorf("assistant: %w", err)
	}
	a.assistantWriter = triage.NewWriter(tax, model, opts)
	a.api.Mount(httpapi.TriageRoutes(a.api, a.triager, a.assistantWriter)...)
	return nil
}
