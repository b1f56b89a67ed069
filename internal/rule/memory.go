package rule

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/citybrain/citybrain"
)

// MemoryRepo is an in-memory Repository for tests and tools.
type MemoryRepo struct {
	mu    sync.Mutex
	rules map[string]Rule
	state []byte
}

var _ Repository = (*MemoryRepo)(nil)

// NewMemoryRepo returns an empty repository.
func NewMemoryRepo() *MemoryRepo { return &MemoryRepo{rules: map[string]Rule{}} }

func notFound(id string) error {
	return citybrain.Errorf(citybrain.ENOTFOUND, "规则 %q 不存在 / rule %q not found", id, id)
}

func copyRule(r Rule) Rule {
	r.AreaScope = append([]string(nil), r.AreaScope...)
	r.Activity = append([]string(nil), r.Activity...)
	r.ClearEvents = append([]string(nil), r.ClearEvents...)
	if r.DailyWindow != nil {
		w := *r.DailyWindow
		r.DailyWindow = &w
	}
	return r
}

// CreateRule implements Repository.
func (m *MemoryRepo) CreateRule(_ context.Context, r Rule) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.rules[r.ID]; ok {
		return citybrain.Errorf(citybrain.ECONFLICT, "规则 %q 已存在 / rule %q exists", r.ID, r.ID)
	}
	m.rules[r.ID] = copyRule(r)
	return nil
}

// UpdateRule implements Repository.
func (m *MemoryRepo) UpdateRule(_ context.Context, r Rule) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.rules[r.ID]; !ok {
		return notFound(r.ID)
	}
	m.rules[r.ID] = copyRule(r)
	return nil
}

// DeleteRule implements Repository.
func (m *MemoryRepo) DeleteRule(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.rules[id]; !ok {
		return notFound(id)
	}
	delete(m.rules, id)
	return nil
}

// GetRule implements Repository.
func (m *MemoryRepo) GetRule(_ context.Context, id string) (Rule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rules[id]
	if !ok {
		return Rule{}, notFound(id)
	}
	return copyRule(r), nil
}

// ListRules implements Repository.
func (m *MemoryRepo) ListRules(_ context.Context) ([]Rule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Rule, 0, len(m.rules))
	for _, r := range m.rules {
		out = append(out, copyRule(r))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// SaveRuleState implements Repository.
func (m *MemoryRepo) SaveRuleState(_ context.Context, state []byte, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state = append([]byte(nil), state...)
	return nil
}

// LoadRuleState implements Repository.
func (m *MemoryRepo) LoadRuleState(_ context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state == nil {
		return nil, nil
	}
	return append([]byte(nil), m.state...), nil
}
