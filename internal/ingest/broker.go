package ingest

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/device"
)

// Topic layout. Every device topic lives under devices/{id}/.
const (
	TopicPrefix     = "devices/"
	TopicTelemetry  = "telemetry"
	TopicEvents     = "events"
	TopicStatus     = "status"
	TopicCommands   = "commands"
	TopicCommandAck = "commands/ack"
)

// BrokerConfig configures the embedded MQTT broker.
type BrokerConfig struct {
	// Addr is the TCP listen address (default ":1883"); "127.0.0.1:0" picks a free port.
	Addr string
	// TLS, when set, serves MQTT over TLS: on TLSAddr as a second listener, or on Addr itself
	// when TLSAddr is empty.
	TLS     *tls.Config
	TLSAddr string
	// MaxPacketBytes is the protocol-level cap on any MQTT packet; bigger packets drop the
	// connection. It defaults to 4 × Limits.MaxBytes so that moderately oversized telemetry is
	// refused with a recorded reason rather than a dropped connection.
	MaxPacketBytes uint32
	// SessionExpiry caps how long a disconnected persistent session (and its queued QoS 1
	// messages) is kept, default 24 h.
	SessionExpiry time.Duration
	// CommandTTL is how long a command waits for its acknowledgement (default 5 min).
	CommandTTL time.Duration
	// State, when set, persists sessions, subscriptions, retained and outbound in-flight
	// messages across restarts; without it they live in memory only.
	State  StateStore
	Logger *slog.Logger
}

// Broker is the embedded MQTT broker: mochi-mqtt with citybrain's authentication, ACL and topic
// handlers. Safe for concurrent use.
type Broker struct {
	in   *Ingestor
	srv  *mqtt.Server
	cfg  BrokerConfig
	addr atomic.Value // string, the bound address
	hook *hook

	cmdMu   sync.Mutex
	pending map[string][]string // device → command IDs waiting for a connection
}

// NewBroker builds the broker over an Ingestor. Start it with Serve.
func NewBroker(in *Ingestor, cfg BrokerConfig) (*Broker, error) {
	if cfg.Addr == "" {
		cfg.Addr = ":1883"
	}
	if cfg.MaxPacketBytes == 0 {
		cfg.MaxPacketBytes = uint32(4*in.limits.MaxBytes + 1024)
	}
	if cfg.SessionExpiry <= 0 {
		cfg.SessionExpiry = 24 * time.Hour
	}
	if cfg.CommandTTL <= 0 {
		cfg.CommandTTL = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(discard{}, nil))
	}
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = cfg.MaxPacketBytes
	// Devices receive little (commands): a short outbound queue per connection instead of
	// mochi's 8192 slots keeps 10,000 connections' heap small.
	caps.MaximumClientWritesPending = 256
	caps.MaximumSessionExpiryInterval = uint32(cfg.SessionExpiry / time.Second)
	// QoS 2 is accepted: for telemetry, events and command acks the PUBREC is sent after the
	// durable write (like the QoS 1 PUBACK), then PUBREL/PUBCOMP complete the exchange.
	caps.MaximumQos = 2
	caps.MaximumMessageExpiryInterval = int64(cfg.SessionExpiry / time.Second)
	caps.Compatibilities.ObscureNotAuthorized = false
	srv := mqtt.New(&mqtt.Options{
		Capabilities:           caps,
		InlineClient:           true,
		Logger:                 cfg.Logger,
		SysTopicResendInterval: 60,
	})
	b := &Broker{in: in, srv: srv, cfg: cfg, pending: map[string][]string{}}
	b.hook = &hook{b: b}
	if err := srv.AddHook(b.hook, nil); err != nil {
		return nil, fmt.Errorf("mqtt hook: %w", err)
	}
	if cfg.State != nil {
		if err := srv.AddHook(newStateHook(cfg.State, cfg.Logger), nil); err != nil {
			return nil, fmt.Errorf("mqtt state hook: %w", err)
		}
	}
	mainTLS := cfg.TLS
	if cfg.TLSAddr != "" {
		mainTLS = nil
	}
	if err := srv.AddListener(&boundTCP{TCP: listeners.NewTCP(listeners.Config{Type: "tcp", ID: "devices", Address: cfg.Addr, TLSConfig: mainTLS}), b: b}); err != nil {
		return nil, fmt.Errorf("mqtt listener: %w", err)
	}
	if cfg.TLS != nil && cfg.TLSAddr != "" {
		if err := srv.AddListener(listeners.NewTCP(listeners.Config{Type: "tcp", ID: "devices-tls", Address: cfg.TLSAddr, TLSConfig: cfg.TLS})); err != nil {
			return nil, fmt.Errorf("mqtt tls listener: %w", err)
		}
	}
	return b, nil
}

// boundTCP records the bound address once the listener is up (for ":0").
type boundTCP struct {
	*listeners.TCP
	b *Broker
}

func (l *boundTCP) Init(log *slog.Logger) error {
	if err := l.TCP.Init(log); err != nil {
		return err
	}
	l.b.addr.Store(l.TCP.Address())
	return nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Serve starts listening; it returns once the listener is bound.
func (b *Broker) Serve() error {
	if err := b.srv.Serve(); err != nil {
		return fmt.Errorf("mqtt serve on %s: %w", b.cfg.Addr, err)
	}
	return nil
}

// Addr returns the bound listen address (after Serve).
func (b *Broker) Addr() string {
	if a, ok := b.addr.Load().(string); ok {
		return a
	}
	return b.cfg.Addr
}

// Close stops the broker (connections close; devices' wills are not sent for a clean stop).
func (b *Broker) Close() error { return b.srv.Close() }

// Connected returns the number of connected MQTT clients.
func (b *Broker) Connected() int64 { return atomic.LoadInt64(&b.srv.Info.ClientsConnected) }

// Kick disconnects a device's live connections (after disabling it or rotating its secret).
func (b *Broker) Kick(deviceID string) {
	for _, cl := range b.srv.Clients.GetAll() {
		if cl.Net.Inline {
			continue
		}
		if id, _ := clientDevice(cl); id == deviceID && !cl.Closed() {
			_ = b.srv.DisconnectClient(cl, packets.ErrNotAuthorized)
		}
	}
}

// clientDevice returns the device ID of an authenticated client: the client ID up to '|'.
func clientDevice(cl *mqtt.Client) (string, bool) {
	id, _, _ := strings.Cut(cl.ID, "|")
	return id, id != ""
}

// deviceTopic splits devices/{id}/{rest}.
func deviceTopic(topic string) (id, rest string, ok bool) {
	if !strings.HasPrefix(topic, TopicPrefix) {
		return "", "", false
	}
	id, rest, ok = strings.Cut(topic[len(TopicPrefix):], "/")
	return id, rest, ok && id != ""
}

// hook is the mochi hook with citybrain's policy.
type hook struct {
	mqtt.HookBase
	b *Broker
	// parked holds, per client, the outbound QoS 1 message set aside while a SUBSCRIBE or
	// UNSUBSCRIBE with the same packet id is processed (see OnPacketRead).
	parked sync.Map // *mqtt.Client → packets.Packet
}

func (h *hook) ID() string { return "citybrain" }

func (h *hook) Provides(x byte) bool {
	switch x {
	case mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPublish, mqtt.OnSessionEstablished,
		mqtt.OnDisconnect, mqtt.OnWillSent, mqtt.OnPacketRead, mqtt.OnSubscribed, mqtt.OnUnsubscribed:
		return true
	}
	return false
}

// OnPacketRead works around mochi answering a SUBSCRIBE or UNSUBSCRIBE with 0x91 (packet
// identifier in use; 0x80 in MQTT 3.1.1) when its packet id equals that of a QoS 1 message the
// broker is delivering to the client. Client and server assign packet ids independently
// (MQTT 3.1.1 §2.3.1, MQTT 5 §2.2.1) and clients start at 1, so a device that reconnected to a
// persistent session with queued messages and subscribed again had its subscription refused.
// The outbound message is set aside while the packet is processed — on this connection's
// goroutine, which also handles the client's PUBACKs — and put back by OnSubscribed or
// OnUnsubscribed. Only packets that pass mochi's validation are handled, so processing always
// reaches those hooks.
func (h *hook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	switch pk.FixedHeader.Type {
	case packets.Subscribe:
		if pk.SubscribeValidate() != packets.CodeSuccess {
			return pk, nil
		}
	case packets.Unsubscribe:
		if pk.UnsubscribeValidate() != packets.CodeSuccess {
			return pk, nil
		}
	default:
		return pk, nil
	}
	if out, ok := cl.State.Inflight.Get(pk.PacketID); ok && out.FixedHeader.Type == packets.Publish {
		cl.State.Inflight.Delete(pk.PacketID)
		h.parked.Store(cl, out)
	}
	return pk, nil
}

// unpark puts back the message OnPacketRead set aside.
func (h *hook) unpark(cl *mqtt.Client) {
	v, ok := h.parked.LoadAndDelete(cl)
	if !ok {
		return
	}
	out := v.(packets.Packet)
	if _, taken := cl.State.Inflight.Get(out.PacketID); taken {
		// Only if the broker's ids wrapped around meanwhile: keep both, this one under a new id.
		if id, err := cl.NextPacketID(); err == nil {
			out.PacketID = uint16(id)
		}
	}
	cl.State.Inflight.Set(out)
}

func (h *hook) OnSubscribed(cl *mqtt.Client, _ packets.Packet, _ []byte) { h.unpark(cl) }

func (h *hook) OnUnsubscribed(cl *mqtt.Client, _ packets.Packet) { h.unpark(cl) }

// OnConnectAuthenticate: username = device ID, password = secret. The client ID is namespaced
// under the device ID so that no device can take over another device's session.
func (h *hook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	in := h.b.in
	id := string(pk.Connect.Username)
	if _, err := in.authenticate("mqtt", id, pk.Connect.Password); err != nil {
		return false
	}
	if pk.Connect.WillFlag && !ownTopic(id, pk.Connect.WillTopic) {
		in.m.refused.WithLabelValues("mqtt", device.ReasonACL).Inc()
		in.quarantine.Add(id, device.Rejection{At: in.clock.Now().UTC(), Transport: "mqtt", Topic: pk.Connect.WillTopic,
			Reason: device.ReasonACL, Detail: "last will topic outside devices/" + id + "/"})
		return false
	}
	if cl.ID != id {
		cl.ID = id + "|" + cl.ID
	}
	return true
}

func ownTopic(id, topic string) bool {
	return len(topic) > len(TopicPrefix)+len(id) && strings.HasPrefix(topic, TopicPrefix) &&
		topic[len(TopicPrefix):len(TopicPrefix)+len(id)] == id && topic[len(TopicPrefix)+len(id)] == '/'
}

// OnACLCheck: a device may publish and subscribe only under devices/{own id}/.
func (h *hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if cl.Net.Inline {
		return true
	}
	id, _ := clientDevice(cl)
	if ownTopic(id, topic) {
		return true
	}
	in := h.b.in
	in.m.refused.WithLabelValues("mqtt", device.ReasonACL).Inc()
	op := "subscribe to"
	if write {
		op = "publish to"
	}
	in.quarantine.Add(id, device.Rejection{At: in.clock.Now().UTC(), Transport: "mqtt", Topic: topic, Reason: device.ReasonACL, Detail: op + " " + topic})
	return false
}

func (h *hook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	id, _ := clientDevice(cl)
	in := h.b.in
	now := in.clock.Now()
	if in.status.Connected(id, now) && in.notify.Status != nil {
		in.notify.Status(in.status.Get(id, now))
	}
	h.b.resendPending(id)
}

func (h *hook) OnWillSent(cl *mqtt.Client, _ packets.Packet) {
	id, _ := clientDevice(cl)
	h.b.in.status.Disconnected(id, h.b.in.clock.Now(), "will")
}

func (h *hook) OnDisconnect(cl *mqtt.Client, err error, _ bool) {
	if cl.IsTakenOver() {
		return // the same device reconnected: it stays online
	}
	id, _ := clientDevice(cl)
	in := h.b.in
	reason := "disconnect"
	switch {
	case err == nil || errors.Is(err, packets.CodeDisconnect):
	case errors.Is(err, packets.ErrNotAuthorized):
		reason = "kicked"
	default:
		reason = "error"
	}
	if st := in.status.Get(id, in.clock.Now()); st.OfflineReason == "will" {
		reason = "will"
	}
	now := in.clock.Now()
	if in.status.Disconnected(id, now, reason) && in.notify.Status != nil {
		in.notify.Status(in.status.Get(id, now))
	}
}

// ack acknowledges a QoS 1 publish (PUBACK) or a QoS 2 publish (PUBREC). For MQTT 5 a refusal carries its reason code; MQTT 3.1.1
// has no negative acknowledgement, so a refused message is acknowledged (it was handled: its
// reason is recorded in the quarantine) and a storage failure closes the connection instead so
// that the client redelivers.
func (b *Broker) ack(cl *mqtt.Client, pk *packets.Packet, code packets.Code, storageFailed bool) {
	if pk.FixedHeader.Qos == 0 {
		return
	}
	if storageFailed && cl.Properties.ProtocolVersion < 5 {
		_ = b.srv.DisconnectClient(cl, packets.ErrUnspecifiedError)
		return
	}
	if cl.Properties.ProtocolVersion < 5 {
		code = packets.CodeSuccess
	}
	out := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Puback},
		PacketID:    pk.PacketID,
		ReasonCode:  code.Code,
	}
	if code.Code >= 0x80 && cl.Properties.ProtocolVersion == 5 {
		out.Properties.ReasonString = code.Reason
	}
	if pk.FixedHeader.Qos == 2 {
		// QoS 2: PUBREC now; the broker answers the client's PUBREL with PUBCOMP once it
		// finds this PUBREC in flight [MQTT-4.3.3].
		out.FixedHeader.Type = packets.Pubrec
		if code.Code < 0x80 {
			out.Created = time.Now().Unix()
			if cl.State.Inflight.Set(out) {
				atomic.AddInt64(&b.srv.Info.Inflight, 1)
			}
		}
	}
	if err := cl.WritePacket(out); err == nil {
		b.in.m.acks.Inc()
	}
}

// OnPublish routes a device's publish by topic. Telemetry, events and command acks are handled
// here and never relayed (ErrRejectPacket), and their PUBACK is sent by the pipeline after the
// durable write; other topics under the device's prefix are relayed as in any broker.
func (h *hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	id, rest, ok := deviceTopic(pk.TopicName)
	if !ok {
		return pk, nil // the ACL already refused it
	}
	b := h.b
	in := b.in
	switch rest {
	case TopicTelemetry:
		b.telemetry(cl, pk, id)
		return pk, packets.ErrRejectPacket
	case TopicEvents:
		b.eventsIn(cl, pk, id)
		return pk, packets.ErrRejectPacket
	case TopicCommandAck:
		b.commandAck(cl, pk, id)
		return pk, packets.ErrRejectPacket
	case TopicStatus:
		in.m.messages.WithLabelValues("mqtt", "status").Inc()
		now := in.clock.Now()
		p := strings.ToLower(string(bytes.TrimSpace(pk.Payload)))
		if strings.Contains(p, "offline") {
			in.status.Disconnected(id, now, "will")
		} else {
			in.status.Seen(id, now.UnixMilli(), device.StatusValues{})
		}
		return pk, nil
	}
	in.m.messages.WithLabelValues("mqtt", "other").Inc()
	return pk, nil
}

func (b *Broker) profileOf(id string) *device.Profile { return b.in.profileOf(id) }

// submitAck queues an acknowledgement behind the device's earlier messages.
func (b *Broker) submitAck(cl *mqtt.Client, pk packets.Packet, id string, batch *Batch, code packets.Code, onDone func(error)) {
	in := b.in
	err := in.pipe.SubmitWhile(cl.Closed, id, batch, func(err error) {
		if onDone != nil {
			onDone(err)
		}
		if err != nil {
			in.m.refused.WithLabelValues("mqtt", device.ReasonStorage).Inc()
			b.ack(cl, &pk, packets.ErrImplementationSpecificError, true)
			return
		}
		b.ack(cl, &pk, code, false)
	})
	if err != nil {
		in.pipe.PutBatch(batch) // the connection closed while waiting: no ack, the client redelivers
	}
}

func (b *Broker) telemetry(cl *mqtt.Client, pk packets.Packet, id string) {
	in := b.in
	in.m.mqttTelemetry.Inc()
	batch := in.pipe.GetBatch()
	code := packets.CodeSuccess
	if de := in.decodeTelemetry("mqtt", pk.TopicName, id, b.profileOf(id), pk.Payload, batch); de != nil {
		batch.Reset()
		code = packets.ErrPayloadFormatInvalid
		if de.Reason == device.ReasonTooLarge {
			code = packets.ErrPacketTooLarge
		}
	} else if len(batch.Readings) == 0 {
		code = packets.ErrPayloadFormatInvalid
	}
	n := len(batch.Readings)
	b.submitAck(cl, pk, id, batch, code, func(err error) {
		if err == nil && n > 0 {
			in.m.mqttReadings.Add(float64(n))
		}
	})
}

func (b *Broker) eventsIn(cl *mqtt.Client, pk packets.Packet, id string) {
	in := b.in
	in.m.messages.WithLabelValues("mqtt", "event").Inc()
	now := in.clock.Now()
	es, de := in.decodeEvents(id, b.profileOf(id), pk.Payload, now)
	code := packets.CodeSuccess
	if de != nil {
		in.m.refused.WithLabelValues("mqtt", de.Reason).Inc()
		in.quarantine.Add(id, device.Rejection{At: now.UTC(), Transport: "mqtt", Topic: pk.TopicName, Reason: de.Reason, Detail: de.Detail, Excerpt: device.Excerpt(pk.Payload)})
		code = packets.ErrPayloadFormatInvalid
	} else {
		in.status.Seen(id, now.UnixMilli(), device.StatusValues{})
		if err := in.storeEvents(context.Background(), es); err != nil {
			in.m.refused.WithLabelValues("mqtt", device.ReasonStorage).Inc()
			b.ack(cl, &pk, packets.ErrImplementationSpecificError, true)
			return
		}
	}
	b.submitAck(cl, pk, id, in.pipe.GetBatch(), code, nil)
}

// commandMessage is what a device receives on devices/{id}/commands.
type commandMessage struct {
	ID     string         `json:"id"`
	Name   string         `json:"name"`
	Params map[string]any `json:"params,omitempty"`
	TS     int64          `json:"ts"`
}

// commandAckPayload is what a device sends on devices/{id}/commands/ack.
type commandAckPayload struct {
	ID     string         `json:"id"`
	OK     bool           `json:"ok"`
	Result map[string]any `json:"result"`
	Error  string         `json:"error"`
}

func (b *Broker) commandAck(cl *mqtt.Client, pk packets.Packet, id string) {
	in := b.in
	in.m.messages.WithLabelValues("mqtt", "command_ack").Inc()
	now := in.clock.Now()
	code := packets.CodeSuccess
	if err := b.ackCommand(context.Background(), id, pk.Payload, now); err != nil {
		in.m.refused.WithLabelValues("mqtt", device.ReasonBadCommandReply).Inc()
		in.quarantine.Add(id, device.Rejection{At: now.UTC(), Transport: "mqtt", Topic: pk.TopicName, Reason: device.ReasonBadCommandReply,
			Detail: citybrain.ErrorMessage(err), Excerpt: device.Excerpt(pk.Payload)})
		code = packets.ErrPayloadFormatInvalid
	} else {
		in.status.Seen(id, now.UnixMilli(), device.StatusValues{})
	}
	b.submitAck(cl, pk, id, in.pipe.GetBatch(), code, nil)
}

// Listener returns the address clients should dial, replacing an unspecified host by 127.0.0.1.
func (b *Broker) Listener() string {
	host, port, err := net.SplitHostPort(b.Addr())
	if err != nil {
		return b.Addr()
	}
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
