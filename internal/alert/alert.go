// Package alert owns alerts: the state machine pending → firing → acknowledged →
// resolved driven by rule signals and operators, deduplication per (rule, entity),
// escalation of unacknowledged critical alerts, the full history of transitions, and
// notifications (webhook signed with HMAC-SHA256 and retried with backoff, adapter
// interfaces for SMS and e-mail) that pass through the caller's text filter.
//
// Concurrency: a Manager serialises its state changes on one mutex, so the
// find-open-then-create of deduplication is atomic within a process. A Dispatcher delivers
// notifications on its own worker goroutines. MemoryRepo is safe for concurrent use.
// The package does no I/O itself: storage is a Repository, HTTP sending a SendFunc.
package alert

import (
	"context"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/rule"
)

// Status is where an alert is in its lifecycle.
type Status string

// Alert statuses.
const (
	StatusPending      Status = "pending"      // 待确认条件：condition holds, waiting for its For
	StatusFiring       Status = "firing"       // 告警中
	StatusAcknowledged Status = "acknowledged" // 已确认：an operator took it on
	StatusResolved     Status = "resolved"     // 已解除：condition cleared or an operator closed it
)

// Open reports whether the status is not final.
func (s Status) Open() bool {
	return s == StatusPending || s == StatusFiring || s == StatusAcknowledged
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s.Open() || s == StatusResolved }

// OpenStatuses lists the statuses of alerts that are not resolved.
func OpenStatuses() []Status {
	return []Status{StatusPending, StatusFiring, StatusAcknowledged}
}

// Actors recorded for automatic transitions.
const (
	ActorRule   = "rule"   // the rule engine
	ActorSystem = "system" // escalation
)

// Alert is one occurrence of a rule firing for an entity (a device).
type Alert struct {
	ID                int64          `json:"id"`
	RuleID            string         `json:"rule_id"`
	RuleName          string         `json:"rule_name"`
	Kind              string         `json:"kind"`
	Entity            string         `json:"entity"` // dedupe key with RuleID; the device id
	DeviceID          string         `json:"device_id"`
	Profile           string         `json:"profile"`
	Area              string         `json:"area"`
	Severity          rule.Severity  `json:"severity"`
	Level             int            `json:"level"` // escalation level, 0 = not escalated
	Status            Status         `json:"status"`
	Summary           string         `json:"summary"`
	Value             float64        `json:"value"`
	Readings          []rule.Reading `json:"readings,omitempty"`
	Count             int            `json:"count"` // signals folded into this alert
	StartsAt          time.Time      `json:"starts_at"`
	FiredAt           time.Time      `json:"fired_at,omitzero"`
	AckedAt           time.Time      `json:"acked_at,omitzero"`
	AckedBy           string         `json:"acked_by,omitempty"`
	ResolvedAt        time.Time      `json:"resolved_at,omitzero"`
	ResolvedBy        string         `json:"resolved_by,omitempty"`
	EscalatedAt       time.Time      `json:"escalated_at,omitzero"`
	UpdatedAt         time.Time      `json:"updated_at"`
	OpenWorkOrder     bool           `json:"open_work_order,omitempty"`
	WorkOrderCategory string         `json:"work_order_category,omitempty"`
	WorkOrderError    string         `json:"work_order_error,omitempty"`
	History           []Transition   `json:"history,omitempty"`
}

// Transition is one entry of an alert's history.
type Transition struct {
	AlertID int64     `json:"alert_id"`
	At      time.Time `json:"at"`
	From    Status    `json:"from"` // "" for creation
	To      Status    `json:"to"`
	Level   int       `json:"level"`
	Actor   string    `json:"actor"`
	Note    string    `json:"note,omitempty"`
}

// Filter selects alerts. Results are newest first (by id); Cursor continues after the
// last id of the previous page.
type Filter struct {
	Status   []Status
	Area     string // area code prefix
	Severity rule.Severity
	RuleID   string
	DeviceID string
	Entity   string    // the dedupe entity: a device id or "household:<id>"
	From, To time.Time // on StartsAt, inclusive
	Cursor   int64     // only ids below this; 0 = from the newest
	Limit    int       // default 50, at most 500
}

// Subscription is a webhook endpoint receiving alert notifications.
type Subscription struct {
	ID          int64         `json:"id"`
	Name        string        `json:"name"`
	URL         string        `json:"url"`
	Secret      string        `json:"secret,omitempty"` // HMAC key; never listed back in full
	Events      []string      `json:"events,omitempty"` // empty = all
	MinSeverity rule.Severity `json:"min_severity,omitempty"`
	Area        string        `json:"area,omitempty"` // area code prefix, "" = all
	Enabled     bool          `json:"enabled"`
	CreatedAt   time.Time     `json:"created_at"`
}

// Delivery is one attempt to deliver a notification to a webhook.
type Delivery struct {
	ID             int64     `json:"id"`
	SubscriptionID int64     `json:"subscription_id"`
	DeliveryID     string    `json:"delivery_id"` // the same for all attempts of one notification
	Event          string    `json:"event"`
	AlertID        int64     `json:"alert_id"`
	Attempt        int       `json:"attempt"`
	StatusCode     int       `json:"status_code"`
	OK             bool      `json:"ok"`
	Final          bool      `json:"final"` // no further attempt follows
	Error          string    `json:"error,omitempty"`
	At             time.Time `json:"at"`
	DurationMS     int64     `json:"duration_ms"`
}

// Repository stores alerts, their history and the webhook delivery log. Implementations
// return *citybrain.Error ENOTFOUND for a missing alert; other errors are failures of the
// store. The repository owns nothing passed in after the call returns.
type Repository interface {
	// CreateAlert inserts a (sets its ID) and its first transition.
	CreateAlert(ctx context.Context, a *Alert, t Transition) error
	// UpdateAlert saves a's mutable fields and appends the transitions (possibly none).
	UpdateAlert(ctx context.Context, a *Alert, ts ...Transition) error
	// GetAlert returns the alert with its History, oldest first.
	GetAlert(ctx context.Context, id int64) (*Alert, error)
	// FindOpenAlert returns the open alert of (ruleID, entity), or nil, nil.
	FindOpenAlert(ctx context.Context, ruleID, entity string) (*Alert, error)
	// ListAlerts returns alerts matching f, newest first, without History.
	ListAlerts(ctx context.Context, f Filter) ([]*Alert, error)
	// RecordDelivery appends to the delivery log (sets d.ID).
	RecordDelivery(ctx context.Context, d *Delivery) error
	// ListDeliveries returns the newest deliveries of a subscription (0 = all), at most limit.
	ListDeliveries(ctx context.Context, subscriptionID int64, limit int) ([]Delivery, error)
}

// SubscriptionRepository stores webhook subscriptions.
type SubscriptionRepository interface {
	CreateSubscription(ctx context.Context, s *Subscription) error
	UpdateSubscription(ctx context.Context, s *Subscription) error
	DeleteSubscription(ctx context.Context, id int64) error
	GetSubscription(ctx context.Context, id int64) (*Subscription, error)
	ListSubscriptions(ctx context.Context) ([]Subscription, error)
}

// ErrNotFound is returned for an alert that does not exist.
func ErrNotFound() error {
	return citybrain.Errorf(citybrain.ENOTFOUND, "告警不存在 / alert not found")
}
