package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/citybrain/citybrain/internal/rule"
)

// Notification events.
const (
	EventFiring    = "alert.firing"
	EventEscalated = "alert.escalated"
	EventResolved  = "alert.resolved"
)

// NotifiedAlert is the part of an alert that leaves the platform in a notification.
type NotifiedAlert struct {
	ID       int64         `json:"id"`
	RuleID   string        `json:"rule_id"`
	RuleName string        `json:"rule_name"`
	DeviceID string        `json:"device_id"`
	Area     string        `json:"area"`
	Severity rule.Severity `json:"severity"`
	Level    int           `json:"level"`
	Status   Status        `json:"status"`
	Summary  string        `json:"summary"`
	Value    float64       `json:"value"`
	StartsAt time.Time     `json:"starts_at"`
	FiredAt  time.Time     `json:"fired_at,omitzero"`
}

// Notification is one message about an alert to the outside world.
type Notification struct {
	Event string        `json:"event"`
	At    time.Time     `json:"at"`
	Alert NotifiedAlert `json:"alert"`
	Note  string        `json:"note,omitempty"`
	// Text is the one-line human message, Chinese first.
	Text string `json:"text"`
}

// NewNotification builds the notification of event for a.
func NewNotification(event string, a *Alert, note string, at time.Time) Notification {
	var verb string
	switch event {
	case EventFiring:
		verb = "告警 / ALERT"
	case EventEscalated:
		verb = fmt.Sprintf("升级 L%d / ESCALATED L%d", a.Level, a.Level)
	case EventResolved:
		verb = "解除 / RESOLVED"
	default:
		verb = event
	}
	text := fmt.Sprintf("[%s][%s] %s", verb, severityZH(a.Severity), a.Summary)
	if note != "" {
		text += " — " + note
	}
	return Notification{
		Event: event, At: at, Note: note, Text: text,
		Alert: NotifiedAlert{
			ID: a.ID, RuleID: a.RuleID, RuleName: a.RuleName, DeviceID: a.DeviceID, Area: a.Area,
			Severity: a.Severity, Level: a.Level, Status: a.Status, Summary: a.Summary, Value: a.Value,
			StartsAt: a.StartsAt, FiredAt: a.FiredAt,
		},
	}
}

func severityZH(s rule.Severity) string {
	switch s {
	case rule.SeverityCritical:
		return "紧急 critical"
	case rule.SeverityWarning:
		return "警告 warning"
	case rule.SeverityInfo:
		return "提示 info"
	}
	return string(s)
}

// Notifier delivers a notification over one channel. Notify blocks until the channel
// accepted the message or gave up (retries included) and returns the final error; the
// notification has already passed the text filter and must be sent as it is.
type Notifier interface {
	Name() string
	Notify(ctx context.Context, n Notification) error
}

// TextFilter rewrites outgoing free text, for example to mask personal data as the data
// governance decides. It must be safe for concurrent use.
type TextFilter func(string) string

// apply runs the filter over every free-text field of n.
func (f TextFilter) apply(n Notification) Notification {
	n.Text = f(n.Text)
	n.Note = f(n.Note)
	n.Alert.Summary = f(n.Alert.Summary)
	n.Alert.RuleName = f(n.Alert.RuleName)
	return n
}

// Dispatcher filters notifications and delivers them to every notifier on background
// workers, so a slow webhook never holds up the alert state machine.
type Dispatcher struct {
	filter    TextFilter
	notifiers []Notifier
	queue     chan Notification
	log       *slog.Logger
	dropped   atomic.Int64
	failed    atomic.Int64
}

// NewDispatcher returns a dispatcher. The filter is mandatory: every notification passes
// through it before any notifier sees it.
func NewDispatcher(filter TextFilter, log *slog.Logger, notifiers ...Notifier) (*Dispatcher, error) {
	if filter == nil {
		return nil, errors.New("alert: a text filter is required for notifications")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{filter: filter, notifiers: notifiers, queue: make(chan Notification, 1024), log: log}, nil
}

// Send queues n for delivery; when the queue is full the notification is dropped and
// counted (Dropped), never blocking the caller.
func (d *Dispatcher) Send(_ context.Context, n Notification) {
	select {
	case d.queue <- d.filter.apply(n):
	default:
		d.dropped.Add(1)
		d.log.Warn("alert notification dropped: queue full", "event", n.Event, "alert", n.Alert.ID)
	}
}

// Deliver filters n and delivers it to every notifier now, returning the joined errors.
func (d *Dispatcher) Deliver(ctx context.Context, n Notification) error {
	return d.deliver(ctx, d.filter.apply(n))
}

func (d *Dispatcher) deliver(ctx context.Context, n Notification) error {
	var errs []error
	for _, nt := range d.notifiers {
		if err := nt.Notify(ctx, n); err != nil {
			d.failed.Add(1)
			d.log.Warn("alert notification failed", "notifier", nt.Name(), "event", n.Event, "alert", n.Alert.ID, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", nt.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// Run delivers queued notifications with workers goroutines until ctx ends.
func (d *Dispatcher) Run(ctx context.Context, workers int) {
	if workers <= 0 {
		workers = 4
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case n := <-d.queue:
					_ = d.deliver(ctx, n)
				}
			}
		}()
	}
	wg.Wait()
}

// Dropped returns how many notifications were dropped because the queue was full.
func (d *Dispatcher) Dropped() int64 { return d.dropped.Load() }

// Failed returns how many notifier deliveries failed finally.
func (d *Dispatcher) Failed() int64 { return d.failed.Load() }

// LogNotifier writes notifications to a logger; the default channel and a stand-in for
// SMS and e-mail gateways during development.
type LogNotifier struct{ Log *slog.Logger }

// Name implements Notifier.
func (LogNotifier) Name() string { return "log" }

// Notify implements Notifier.
func (l LogNotifier) Notify(_ context.Context, n Notification) error {
	l.Log.Info("alert notification", "event", n.Event, "alert", n.Alert.ID, "severity", n.Alert.Severity, "text", n.Text)
	return nil
}

// SMSSender is the adapter a short-message gateway implements (for example a carrier's or
// a cloud SMS API). SendSMS delivers text to one mobile number and returns an error when
// the gateway refused it; it must respect ctx and must not retry forever. Texts are
// already filtered and at most 300 runes.
type SMSSender interface {
	SendSMS(ctx context.Context, phone, text string) error
}

// EmailSender is the adapter a mail transport implements (SMTP relay or a mail API).
// SendEmail delivers one message to the recipients and returns an error when the
// transport refused it; it must respect ctx.
type EmailSender interface {
	SendEmail(ctx context.Context, to []string, subject, body string) error
}

// Recipients picks who receives a notification (by severity, area, duty roster…).
type Recipients func(n Notification) []string

// SMSNotifier sends notifications as short messages through an SMSSender.
type SMSNotifier struct {
	Sender SMSSender
	To     Recipients
}

// Name implements Notifier.
func (SMSNotifier) Name() string { return "sms" }

// Notify implements Notifier.
func (s SMSNotifier) Notify(ctx context.Context, n Notification) error {
	text := []rune(n.Text)
	if len(text) > 300 {
		text = append(text[:299], '…')
	}
	var errs []error
	for _, to := range s.To(n) {
		if err := s.Sender.SendSMS(ctx, to, string(text)); err != nil {
			errs = append(errs, fmt.Errorf("sms %s: %w", to, err))
		}
	}
	return errors.Join(errs...)
}

// EmailNotifier sends notifications as e-mail through an EmailSender.
type EmailNotifier struct {
	Sender EmailSender
	To     Recipients
}

// Name implements Notifier.
func (EmailNotifier) Name() string { return "email" }

// Notify implements Notifier.
func (e EmailNotifier) Notify(ctx context.Context, n Notification) error {
	to := e.To(n)
	if len(to) == 0 {
		return nil
	}
	subject := n.Text
	if r := []rune(subject); len(r) > 120 {
		subject = string(r[:119]) + "…"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", n.Text)
	fmt.Fprintf(&b, "告警编号 Alert: %d\n规则 Rule: %s (%s)\n设备 Device: %s\n区域 Area: %s\n级别 Severity: %s L%d\n状态 Status: %s\n时间 At: %s\n",
		n.Alert.ID, n.Alert.RuleName, n.Alert.RuleID, n.Alert.DeviceID, n.Alert.Area, n.Alert.Severity, n.Alert.Level, n.Alert.Status, n.At.Format(time.RFC3339))
	if n.Note != "" {
		fmt.Fprintf(&b, "说明 Note: %s\n", n.Note)
	}
	return e.Sender.SendEmail(ctx, to, subject, b.String())
}

// LogSMS is an SMSSender that only logs, for development and tests.
type LogSMS struct{ Log *slog.Logger }

// SendSMS implements SMSSender.
func (l LogSMS) SendSMS(_ context.Context, phone, text string) error {
	l.Log.Info("sms", "to", phone, "text", text)
	return nil
}

// LogEmail is an EmailSender that only logs, for development and tests.
type LogEmail struct{ Log *slog.Logger }

// SendEmail implements EmailSender.
func (l LogEmail) SendEmail(_ context.Context, to []string, subject, body string) error {
	l.Log.Info("email", "to", strings.Join(to, ","), "subject", subject, "body", body)
	return nil
}
