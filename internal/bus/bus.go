// Package bus carries the platform's internal events over NATS: an in-process server by
// default (no listener), or an external NATS server or cluster when a URL is given. Subjects
// are named here so publishers and subscribers agree. Payloads are JSON encoded by the
// publishing package. A *Bus is safe for concurrent use; handlers run on NATS's delivery
// goroutine per subscription, in order.
//
// In a cluster several nodes share one NATS server: Config.Prefix puts every subject of one
// deployment under its own root (so two deployments, or two test runs, on one server never
// see each other's messages), and every message carries the publishing node's name in a
// header so a subscriber can tell its own messages from its peers' (SubscribePeers).
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
	// SubjectCluster carries change notices between the nodes of a cluster:
	// "cb.cluster.<kind>" (e.g. rules, devices), payload the changed id; the other nodes
	// reload what they keep in memory from the store.
	SubjectCluster = "cb.cluster"
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
	// Prefix, when set, is prepended (with a dot) to every subject this Bus publishes and
	// subscribes to, and stripped from the subjects handed to handlers: one deployment's
	// namespace on a shared NATS server (the --cluster-name flag).
	Prefix string
	// Node names this node; it travels in the NodeHeader of every published message.
	// Empty: a random name.
	Node string
}

// NodeHeader is the NATS message header carrying the publishing node's name.
const NodeHeader = "Cb-Node"

// Bus is a connection to NATS, with the embedded server when it owns one.
type Bus struct {
	nc     *nats.Conn
	srv    *server.Server
	prefix string // "" or "name." (with the dot)
	node   string
}

// Open starts the embedded server or connects to the external one.
func Open(ctx context.Context, cfg Config) (*Bus, error) {
	name := cfg.Name
	if name == "" {
		name = "citybrain"
	}
	prefix := ""
	if cfg.Prefix != "" {
		if strings.ContainsAny(cfg.Prefix, " *>\t\r\n") || strings.HasPrefix(cfg.Prefix, ".") || strings.HasSuffix(cfg.Prefix, ".") {
			return nil, fmt.Errorf("bus: subject prefix %q must be dot-separated tokens without spaces or wildcards (check --cluster-name)", cfg.Prefix)
		}
		prefix = cfg.Prefix + "."
	}
	node := cfg.Node
	if node == "" {
		node = nats.NewInbox()[len(nats.InboxPrefix):]
	}
	if cfg.URL != "" {
		nc, err := nats.Connect(cfg.URL, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(500*time.Millisecond), nats.Timeout(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("connect NATS at %s (check --nats): %w", cfg.URL, err)
		}
		return &Bus{nc: nc, prefix: prefix, node: node}, nil
	}
	opts := &server.Options{ServerName: strings.ReplaceAll(name, " ", "_"), DontListen: true, NoLog: true, NoSigs: true, MaxPayload: 8 << 20}
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
	return &Bus{nc: nc, srv: srv, prefix: prefix, node: node}, nil
}

// Conn returns the NATS connection for packages that need more than Publish/Subscribe.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// Embedded reports whether the bus runs its own in-process server.
func (b *Bus) Embedded() bool { return b.srv != nil }

// Node returns this node's name (the NodeHeader of its messages).
func (b *Bus) Node() string { return b.node }

// Prefix returns the subject prefix of this deployment ("" when none).
func (b *Bus) Prefix() string { return strings.TrimSuffix(b.prefix, ".") }

// Publish sends data on subject.
func (b *Bus) Publish(subject string, data []byte) error {
	m := &nats.Msg{Subject: b.prefix + subject, Data: data, Header: nats.Header{}}
	m.Header.Set(NodeHeader, b.node)
	return b.nc.PublishMsg(m)
}

// deliver turns a NATS message into the handler's call, without the prefix.
func (b *Bus) deliver(fn func(subject string, data []byte), peersOnly bool) nats.MsgHandler {
	return func(m *nats.Msg) {
		if peersOnly && m.Header.Get(NodeHeader) == b.node {
			return
		}
		fn(strings.TrimPrefix(m.Subject, b.prefix), m.Data)
	}
}

// Subscribe calls fn for every message on subject (wildcards allowed) and returns a function
// that stops it.
func (b *Bus) Subscribe(subject string, fn func(subject string, data []byte)) (func(), error) {
	return b.subscribe(subject, "", b.deliver(fn, false))
}

// SubscribePeers is Subscribe for the messages other nodes published: a node's own messages
// are skipped (it acted on them when it published). Used to keep per-node caches in step.
func (b *Bus) SubscribePeers(subject string, fn func(subject string, data []byte)) (func(), error) {
	return b.subscribe(subject, "", b.deliver(fn, true))
}

// QueueSubscribe is Subscribe within a queue group: across a cluster of nodes each message
// reaches one member of the group.
func (b *Bus) QueueSubscribe(subject, group string, fn func(subject string, data []byte)) (func(), error) {
	return b.subscribe(subject, group, b.deliver(fn, false))
}

func (b *Bus) subscribe(subject, group string, h nats.MsgHandler) (func(), error) {
	var sub *nats.Subscription
	var err error
	if group == "" {
		sub, err = b.nc.Subscribe(b.prefix+subject, h)
	} else {
		sub, err = b.nc.QueueSubscribe(b.prefix+subject, group, h)
	}
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
