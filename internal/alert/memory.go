package alert

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/rule"
)

// MemoryRepo is an in-memory Repository and SubscriptionRepository for tests, dry runs
// and scripted rule tests.
type MemoryRepo struct {
	mu         sync.Mutex
	alerts     map[int64]*Alert
	history    map[int64][]Transition
	deliveries []Delivery
	subs       map[int64]*Subscription
	nextID     int64
}

var (
	_ Repository             = (*MemoryRepo)(nil)
	_ SubscriptionRepository = (*MemoryRepo)(nil)
)

// NewMemoryRepo returns an empty repository.
func NewMemoryRepo() *MemoryRepo {
	return &MemoryRepo{alerts: map[int64]*Alert{}, history: map[int64][]Transition{}, subs: map[int64]*Subscription{}}
}

func clone(a *Alert) *Alert {
	c := *a
	c.Readings = append([]rule.Reading(nil), a.Readings...)
	c.History = nil
	return &c
}

// CreateAlert implements Repository.
func (m *MemoryRepo) CreateAlert(_ context.Context, a *Alert, t Transition) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a.Status.Open() {
		for _, x := range m.alerts {
			if x.RuleID == a.RuleID && x.Entity == a.Entity && x.Status.Open() {
				return citybrain.Errorf(citybrain.ECONFLICT, "该规则和设备已有未解除的告警 / an open alert exists for this rule and entity")
			}
		}
	}
	m.nextID++
	a.ID = m.nextID
	m.alerts[a.ID] = clone(a)
	t.AlertID = a.ID
	m.history[a.ID] = append(m.history[a.ID], t)
	return nil
}

// UpdateAlert implements Repository.
func (m *MemoryRepo) UpdateAlert(_ context.Context, a *Alert, ts ...Transition) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.alerts[a.ID]; !ok {
		return ErrNotFound()
	}
	m.alerts[a.ID] = clone(a)
	for _, t := range ts {
		t.AlertID = a.ID
		m.history[a.ID] = append(m.history[a.ID], t)
	}
	return nil
}

// GetAlert implements Repository.
func (m *MemoryRepo) GetAlert(_ context.Context, id int64) (*Alert, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.alerts[id]
	if !ok {
		return nil, ErrNotFound()
	}
	c := clone(a)
	c.History = append([]Transition(nil), m.history[id]...)
	return c, nil
}

// FindOpenAlert implements Repository.
func (m *MemoryRepo) FindOpenAlert(_ context.Context, ruleID, entity string) (*Alert, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.alerts {
		if a.RuleID == ruleID && a.Entity == entity && a.Status.Open() {
			return clone(a), nil
		}
	}
	return nil, nil
}

// Match reports whether a satisfies f's conditions (not its cursor or limit). Stores can
// use it to check their SQL in conformance tests.
func (f Filter) Match(a *Alert) bool {
	if len(f.Status) > 0 {
		ok := false
		for _, s := range f.Status {
			ok = ok || a.Status == s
		}
		if !ok {
			return false
		}
	}
	switch {
	case f.Area != "" && !strings.HasPrefix(a.Area, f.Area),
		f.Severity != "" && a.Severity != f.Severity,
		f.RuleID != "" && a.RuleID != f.RuleID,
		f.DeviceID != "" && a.DeviceID != f.DeviceID,
		f.Entity != "" && a.Entity != f.Entity,
		!f.From.IsZero() && a.StartsAt.Before(f.From),
		!f.To.IsZero() && a.StartsAt.After(f.To):
		return false
	}
	return true
}

// PageSize returns the effective page size: 50 by default, at most 500.
func (f Filter) PageSize() int {
	switch {
	case f.Limit <= 0:
		return 50
	case f.Limit > 500:
		return 500
	}
	return f.Limit
}

// ListAlerts implements Repository.
func (m *MemoryRepo) ListAlerts(_ context.Context, f Filter) ([]*Alert, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Alert
	for _, a := range m.alerts {
		if (f.Cursor == 0 || a.ID < f.Cursor) && f.Match(a) {
			out = append(out, clone(a))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	if n := f.PageSize(); len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// RecordDelivery implements Repository.
func (m *MemoryRepo) RecordDelivery(_ context.Context, d *Delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	d.ID = m.nextID
	m.deliveries = append(m.deliveries, *d)
	return nil
}

// ListDeliveries implements Repository.
func (m *MemoryRepo) ListDeliveries(_ context.Context, sub int64, limit int) ([]Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if limit <= 0 {
		limit = 100
	}
	var out []Delivery
	for i := len(m.deliveries) - 1; i >= 0 && len(out) < limit; i-- {
		if sub == 0 || m.deliveries[i].SubscriptionID == sub {
			out = append(out, m.deliveries[i])
		}
	}
	return out, nil
}

// CreateSubscription implements SubscriptionRepository.
func (m *MemoryRepo) CreateSubscription(_ context.Context, s *Subscription) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	s.ID = m.nextID
	c := *s
	m.subs[s.ID] = &c
	return nil
}

// UpdateSubscription implements SubscriptionRepository.
func (m *MemoryRepo) UpdateSubscription(_ context.Context, s *Subscription) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.subs[s.ID]; !ok {
		return citybrain.Errorf(citybrain.ENOTFOUND, "订阅不存在 / subscription not found")
	}
	c := *s
	m.subs[s.ID] = &c
	return nil
}

// DeleteSubscription implements SubscriptionRepository.
func (m *MemoryRepo) DeleteSubscription(_ context.Context, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.subs[id]; !ok {
		return citybrain.Errorf(citybrain.ENOTFOUND, "订阅不存在 / subscription not found")
	}
	delete(m.subs, id)
	return nil
}

// GetSubscription implements SubscriptionRepository.
func (m *MemoryRepo) GetSubscription(_ context.Context, id int64) (*Subscription, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.subs[id]
	if !ok {
		return nil, citybrain.Errorf(citybrain.ENOTFOUND, "订阅不存在 / subscription not found")
	}
	c := *s
	return &c, nil
}

// ListSubscriptions implements SubscriptionRepository.
func (m *MemoryRepo) ListSubscriptions(_ context.Context) ([]Subscription, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Subscription, 0, len(m.subs))
	for _, s := range m.subs {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
