package alert

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/rule"
)

// AlertInfo is what a work-order opener learns about a firing alert.
type AlertInfo struct {
	AlertID  int64         `json:"alert_id"`
	RuleID   string        `json:"rule_id"`
	RuleName string        `json:"rule_name"`
	DeviceID string        `json:"device_id"`
	Area     string        `json:"area"`
	Severity rule.Severity `json:"severity"`
	Category string        `json:"category"`
	Summary  string        `json:"summary"`
	Value    float64       `json:"value"`
	FiredAt  time.Time     `json:"fired_at"`
}

// WorkOrderOpener opens a work order for a firing alert whose rule asks for one. It is
// provided by the work-order subsystem; an error is recorded on the alert and does not
// stop the alert.
type WorkOrderOpener func(ctx context.Context, info AlertInfo) error

// Change is a persisted change of an alert, for live push to browsers.
type Change struct {
	Alert      *Alert     `json:"alert"`
	Transition Transition `json:"transition"`
}

// Config configures a Manager.
type Config struct {
	Repo  Repository      // required
	Clock citybrain.Clock // default the system clock
	// Notify hands a notification to delivery (a Dispatcher's Send); nil drops them.
	Notify func(ctx context.Context, n Notification)
	// OnChange is told about every transition after it is stored; nil ignores them.
	OnChange func(Change)
	// OpenWorkOrder is called when an alert whose rule asks for a work order fires.
	OpenWorkOrder WorkOrderOpener
	// EscalateAfter is how long a critical alert may stay firing unacknowledged before
	// its level goes up (and again after each further period); default 15 minutes.
	EscalateAfter time.Duration
	// MaxLevel caps escalation; default 3.
	MaxLevel int
}

// Manager runs the alert state machine. See the package comment for its guarantees.
type Manager struct {
	mu  sync.Mutex
	cfg Config
}

// NewManager returns a manager over cfg.Repo.
func NewManager(cfg Config) *Manager {
	if cfg.Clock == nil {
		cfg.Clock = citybrain.SystemClock{}
	}
	if cfg.EscalateAfter <= 0 {
		cfg.EscalateAfter = 15 * time.Minute
	}
	if cfg.MaxLevel <= 0 {
		cfg.MaxLevel = 3
	}
	return &Manager{cfg: cfg}
}

// MaxNoteRunes bounds an operator's note.
const MaxNoteRunes = 1000

// Apply folds a rule signal into the alerts: pending and firing signals create or update
// the open alert of (rule, entity) — never a second one — and inactive signals resolve it.
// The entity is the signal's Entity (a household) or else its device.
// It returns the alert touched, or nil when there was none.
func (m *Manager) Apply(ctx context.Context, s rule.Signal) (*Alert, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	entity := s.Entity
	if entity == "" {
		entity = s.DeviceID
	}
	open, err := m.cfg.Repo.FindOpenAlert(ctx, s.RuleID, entity)
	if err != nil {
		return nil, fmt.Errorf("alert apply: %w", err)
	}
	now := s.At
	if now.IsZero() {
		now = m.cfg.Clock.Now()
	}
	switch s.State {
	case rule.StatePending, rule.StateFiring:
		if open == nil {
			a := &Alert{
				RuleID: s.RuleID, RuleName: s.RuleName, Kind: string(s.Kind), Entity: entity,
				DeviceID: s.DeviceID, Profile: s.Profile, Area: s.Area, Severity: s.Severity,
				Status: Status(s.State), Summary: s.Summary, Value: s.Value, Readings: s.Readings,
				Count: 1, StartsAt: s.Since, UpdatedAt: now,
				OpenWorkOrder: s.OpenWorkOrder, WorkOrderCategory: s.WorkOrderCategory,
			}
			if a.StartsAt.IsZero() {
				a.StartsAt = now
			}
			if a.Status == StatusFiring {
				a.FiredAt = now
			}
			t := Transition{At: now, From: "", To: a.Status, Actor: ActorRule, Note: s.Summary}
			if err := m.cfg.Repo.CreateAlert(ctx, a, t); err != nil {
				return nil, fmt.Errorf("alert create: %w", err)
			}
			t.AlertID = a.ID
			m.changed(a, t)
			if a.Status == StatusFiring {
				m.fired(ctx, a)
			}
			return a, nil
		}
		open.Count++
		open.Value, open.UpdatedAt = s.Value, now
		if s.Summary != "" {
			open.Summary = s.Summary
		}
		if len(s.Readings) > 0 {
			open.Readings = s.Readings
		}
		if s.State == rule.StateFiring && open.Status == StatusPending {
			open.Status, open.FiredAt = StatusFiring, now
			t := Transition{AlertID: open.ID, At: now, From: StatusPending, To: StatusFiring, Actor: ActorRule, Note: s.Summary}
			if err := m.cfg.Repo.UpdateAlert(ctx, open, t); err != nil {
				return nil, fmt.Errorf("alert update: %w", err)
			}
			m.changed(open, t)
			m.fired(ctx, open)
			return open, nil
		}
		// a duplicate: fold it into the open alert
		if err := m.cfg.Repo.UpdateAlert(ctx, open); err != nil {
			return nil, fmt.Errorf("alert update: %w", err)
		}
		return open, nil
	case rule.StateInactive:
		if open == nil {
			return nil, nil
		}
		wasFiring := open.Status != StatusPending
		if err := m.transition(ctx, open, StatusResolved, ActorRule, "条件已解除 / condition cleared", now); err != nil {
			return nil, err
		}
		if wasFiring {
			m.notify(ctx, EventResolved, open, "条件已解除 / condition cleared")
		}
		return open, nil
	}
	return nil, citybrain.Errorf(citybrain.EINVALID, "unknown signal state %q", s.State)
}

// fired runs the side effects of an alert starting to fire.
func (m *Manager) fired(ctx context.Context, a *Alert) {
	m.notify(ctx, EventFiring, a, "")
	if a.OpenWorkOrder && m.cfg.OpenWorkOrder != nil {
		err := m.cfg.OpenWorkOrder(ctx, AlertInfo{
			AlertID: a.ID, RuleID: a.RuleID, RuleName: a.RuleName, DeviceID: a.DeviceID, Area: a.Area,
			Severity: a.Severity, Category: a.WorkOrderCategory, Summary: a.Summary, Value: a.Value, FiredAt: a.FiredAt,
		})
		if err != nil {
			a.WorkOrderError = err.Error()
			_ = m.cfg.Repo.UpdateAlert(ctx, a) // best effort: the alert itself is stored
		}
	}
}

func (m *Manager) transition(ctx context.Context, a *Alert, to Status, actor, note string, now time.Time) error {
	t := Transition{AlertID: a.ID, At: now, From: a.Status, To: to, Level: a.Level, Actor: actor, Note: note}
	a.Status, a.UpdatedAt = to, now
	switch to {
	case StatusAcknowledged:
		a.AckedAt, a.AckedBy = now, actor
	case StatusResolved:
		a.ResolvedAt, a.ResolvedBy = now, actor
	}
	if err := m.cfg.Repo.UpdateAlert(ctx, a, t); err != nil {
		return fmt.Errorf("alert %s: %w", to, err)
	}
	m.changed(a, t)
	return nil
}

func (m *Manager) changed(a *Alert, t Transition) {
	if m.cfg.OnChange != nil {
		c := *a
		m.cfg.OnChange(Change{Alert: &c, Transition: t})
	}
}

func actorName(ctx context.Context) string {
	a := citybrain.ActorFrom(ctx)
	switch {
	case a == nil:
		return ActorSystem
	case a.Username != "":
		return a.Username
	case a.DeviceID != "":
		return "device:" + a.DeviceID
	}
	return fmt.Sprintf("user:%d", a.UserID)
}

func checkNote(note string, required bool) (string, error) {
	note = strings.TrimSpace(note)
	if required && note == "" {
		return "", citybrain.FieldError("note", "请填写处置说明 / a note is required")
	}
	if utf8.RuneCountInString(note) > MaxNoteRunes {
		return "", citybrain.FieldError("note", "说明过长（最多 %d 字）/ note longer than %d characters", MaxNoteRunes, MaxNoteRunes)
	}
	return note, nil
}

// Ack acknowledges a pending or firing alert for the actor in ctx.
func (m *Manager) Ack(ctx context.Context, id int64, note string) (*Alert, error) {
	note, err := checkNote(note, false)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a, err := m.cfg.Repo.GetAlert(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Status != StatusFiring && a.Status != StatusPending {
		return nil, citybrain.Errorf(citybrain.ECONFLICT, "告警状态为 %s，不能确认 / an alert that is %s cannot be acknowledged", a.Status, a.Status)
	}
	a.History = nil
	actor := actorName(ctx)
	if err := m.transition(ctx, a, StatusAcknowledged, actor, note, m.cfg.Clock.Now()); err != nil {
		return nil, err
	}
	return m.cfg.Repo.GetAlert(ctx, id)
}

// Resolve closes an open alert by an operator; the note is required.
func (m *Manager) Resolve(ctx context.Context, id int64, note string) (*Alert, error) {
	note, err := checkNote(note, true)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a, err := m.cfg.Repo.GetAlert(ctx, id)
	if err != nil {
		return nil, err
	}
	if !a.Status.Open() {
		return nil, citybrain.Errorf(citybrain.ECONFLICT, "告警已解除 / the alert is already resolved")
	}
	a.History = nil
	if err := m.transition(ctx, a, StatusResolved, actorName(ctx), note, m.cfg.Clock.Now()); err != nil {
		return nil, err
	}
	m.notify(ctx, EventResolved, a, note)
	return m.cfg.Repo.GetAlert(ctx, id)
}

// Escalate raises the level of critical alerts firing unacknowledged for longer than
// EscalateAfter since they fired (or last escalated) and notifies. Call it periodically.
func (m *Manager) Escalate(ctx context.Context) ([]*Alert, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.cfg.Clock.Now()
	var out []*Alert
	cursor := int64(0)
	for {
		page, err := m.cfg.Repo.ListAlerts(ctx, Filter{Status: []Status{StatusFiring}, Severity: rule.SeverityCritical, Cursor: cursor, Limit: 500})
		if err != nil {
			return out, fmt.Errorf("alert escalate: %w", err)
		}
		for _, a := range page {
			cursor = a.ID
			if a.Level >= m.cfg.MaxLevel {
				continue
			}
			since := a.FiredAt
			if a.EscalatedAt.After(since) {
				since = a.EscalatedAt
			}
			if now.Sub(since) < m.cfg.EscalateAfter {
				continue
			}
			a.Level++
			a.EscalatedAt, a.UpdatedAt = now, now
			note := fmt.Sprintf("%s 未确认，升级至 %d 级 / unacknowledged for %s, escalated to level %d",
				rule.Duration(now.Sub(a.FiredAt).Truncate(time.Second)), a.Level, rule.Duration(now.Sub(a.FiredAt).Truncate(time.Second)), a.Level)
			t := Transition{AlertID: a.ID, At: now, From: a.Status, To: a.Status, Level: a.Level, Actor: ActorSystem, Note: note}
			if err := m.cfg.Repo.UpdateAlert(ctx, a, t); err != nil {
				return out, fmt.Errorf("alert escalate: %w", err)
			}
			m.changed(a, t)
			m.notify(ctx, EventEscalated, a, note)
			out = append(out, a)
		}
		if len(page) < 500 {
			return out, nil
		}
	}
}

func (m *Manager) notify(ctx context.Context, event string, a *Alert, note string) {
	if m.cfg.Notify == nil {
		return
	}
	m.cfg.Notify(ctx, NewNotification(event, a, note, m.cfg.Clock.Now()))
}
