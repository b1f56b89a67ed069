// Package bus carries the platform's internal events over NATS: an in-process server by
// default (no listener), or an external NATS server or cluster when a URL is given. Subjects
// are named here so publishers and subscribers agree. Payloads are JSON encoded by the
// publishing package. A *Bus is safe for concurrent use; handlers run on NATS's delivery
// goroutine per subscription, in order.
package bus

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Subjects. A device id is appended as the last token (see Token).
const (
	// SubjectTelemetry carries stored readings: "cb.telemetry.<device>", payload a JSON batch.
	SubjectTelemetry = "cb.telemetry"
	// SubjectEvents carries stored device events: "cb.events.<device>".
	SubjectEvents = "cb.events"
	// SubjectStatus carries device status changes (online/offline, battery): "cb.status.<device>".
	SubjectStatus = "cb.status"
	// SubjectAlerts carries alert state changes: "cb.alerts".
	SubjectAlerts = "cb.alerts"
	// SubjectWorkOrders carries work-order changes: "cb.workorders".
	SubjectWorkOrders = "cb.workorders"
	// SubjectKPI carries KPI changes for the dashboard: "cb.kpi".
	SubjectKPI = "cb.kpi"
)

// Token makes an id safe as one subject token (dots, spaces and wildcards replaced).
func Token(id string) string {
	if !strings.ContainsAny(id, ". *>\t\r\n") {
		return id
	}
	return strings.NewReplacer(".", "_", " ", "_", "*", "_", ">", "_", "\t", "_", "\r", "_", "\n", "_").Replace(id)
}

// Config selects embedded or external NATS.
type Config struct {
	// URL of an external NATS server or cluster (comma-separated); empty runs one in-process.
	URL string
	// Name identifies this node's connection.
	Name string
}

// Bus is a connection to NATS, with the embedded server when it owns one.
type Bus struct {
	nc  *nats.Conn
	srv *server.Server
}

// Open starts the embedded server or connects to the external one.
func Open(ctx context.Context, cfg Config) (*Bus, error) {
	name := cfg.Name
	if name == "" {
		name = "citybrain"
	}
	if cfg.URL != "" {
		nc, err := nats.Connect(cfg.URL, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(500*time.Millisecond), nats.Timeout(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("connect NATS at %s (check --nats): %w", cfg.URL, err)
		}
		return &Bus{nc: nc}, nil
	}
	opts := &server.Options{ServerName: name, DontListen: true, NoLog: true, NoSigs: true, MaxPayload: 8 << 20}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded NATS did not start")
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv), nats.Name(name))
	if err != nil {
		srv.Shutdown()
		return nil, fmt.Errorf("connect embedded NATS: %w", err)
	}
	return &Bus{nc: nc, srv: srv}, nil
}

// Conn returns the NATS connection for packages that need more than Publish/Subscribe.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// Embedded reports whether the bus runs its own in-process server.
func (b *Bus) Embedded() bool { return b.srv != nil }

// Publish sends data on subject.
func (b *Bus) Publish(subject string, data []byte) error {
	return b.nc.Publish(subject, data)
}

// Subscribe calls fn for every message on subject (wildcards allowed) and returns a function
// that stops it.
func (b *Bus) Subscribe(subject string, fn func(subject string, data []byte)) (func(), error) {
	sub, err := b.nc.Subscribe(subject, func(m *nats.Msg) { fn(m.Subject, m.Data) })
	if err != nil {
		return nil, err
	}
	_ = sub.SetPendingLimits(1<<20, 256<<20)
	return func() { _ = sub.Unsubscribe() }, nil
}

// QueueSubscribe is Subscribe within a queue group: across a cluster of nodes each message
// reaches one member of the group.
func (b *Bus) QueueSubscribe(subject, group string, fn func(subject string, data []byte)) (func(), error) {
	sub, err := b.nc.QueueSubscribe(subject, group, func(m *nats.Msg) { fn(m.Subject, m.Data) })
	if err != nil {
		return nil, err
	}
	_ = sub.SetPendingLimits(1<<20, 256<<20)
	return func() { _ = sub.Unsubscribe() }, nil
}

// Ping checks the connection with a round trip (for /readyz).
func (b *Bus) Ping(ctx context.Context) error {
	if !b.nc.IsConnected() {
		return fmt.Errorf("NATS not connected")
	}
	d := 2 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl)
	}
	return b.nc.FlushTimeout(d)
}

// Close drains the connection and stops the embedded server.
func (b *Bus) Close() {
	_ = b.nc.Drain()
	for i := 0; i < 50 && !b.nc.IsClosed(); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	b.nc.Close()
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
	}
}
