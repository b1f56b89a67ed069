package alert

import (
	"context"
	"fmt"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/rule"
)

// ScriptAlerts is the real alert state machine (a Manager over a MemoryRepo) as the
// scripted rule tests drive it (rule.RunScript): `go test ./internal/rule/` and
// `citybrain rules test`.
type ScriptAlerts struct {
	m    *Manager
	repo *MemoryRepo
}

var _ rule.ScriptAlerts = (*ScriptAlerts)(nil)

// NewScriptAlerts returns a fresh in-memory state machine on clock.
func NewScriptAlerts(clock citybrain.Clock) rule.ScriptAlerts {
	repo := NewMemoryRepo()
	return &ScriptAlerts{m: NewManager(Config{Repo: repo, Clock: clock}), repo: repo}
}

// Apply implements rule.ScriptAlerts.
func (s *ScriptAlerts) Apply(ctx context.Context, sig rule.Signal) error {
	_, err := s.m.Apply(ctx, sig)
	return err
}

// Act implements rule.ScriptAlerts.
func (s *ScriptAlerts) Act(ctx context.Context, action, ruleID, entity, note string) error {
	list, err := s.repo.ListAlerts(ctx, Filter{RuleID: ruleID, Entity: entity, Status: OpenStatuses()})
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return fmt.Errorf("no open alert for %s %s", ruleID, entity)
	}
	switch action {
	case "ack":
		_, err = s.m.Ack(ctx, list[0].ID, note)
	case "resolve":
		_, err = s.m.Resolve(ctx, list[0].ID, note)
	default:
		err = fmt.Errorf("unknown action %q (ack, resolve)", action)
	}
	return err
}

// Status implements rule.ScriptAlerts.
func (s *ScriptAlerts) Status(ctx context.Context, ruleID, entity string) (string, error) {
	list, err := s.repo.ListAlerts(ctx, Filter{RuleID: ruleID, Entity: entity, Limit: 1})
	if err != nil {
		return "", err
	}
	if len(list) == 0 {
		return "none", nil
	}
	return string(list[0].Status), nil
}

// Created implements rule.ScriptAlerts.
func (s *ScriptAlerts) Created(ctx context.Context) ([]string, error) {
	var out []string
	for cursor := int64(0); ; {
		page, err := s.repo.ListAlerts(ctx, Filter{Cursor: cursor, Limit: 500})
		if err != nil {
			return nil, err
		}
		for _, a := range page {
			out = append(out, fmt.Sprintf("#%d %s %s %s", a.ID, a.RuleID, a.Entity, a.Status))
			cursor = a.ID
		}
		if len(page) < 500 {
			break
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 { // oldest first
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}
