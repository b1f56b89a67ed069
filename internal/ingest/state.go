package ingest

import (
	"context"
	"log/slog"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/storage"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/citybrain/citybrain/internal/device"
)

// Kinds of persisted broker state.
const (
	StateClient       = "client"
	StateSubscription = "sub"
	StateRetained     = "retained"
	StateInflight     = "inflight"
)

// StateOp is one change of persisted broker state.
type StateOp = device.BrokerStateOp

// StateStore persists the broker's session state (internal/store implements it in SQL).
type StateStore = device.BrokerStateStore

// stateHook mirrors mochi's session state into a StateStore, in the manner of mochi's own
// bolt/badger storage hooks. Writes are queued and applied in batches by one goroutine so that
// connection goroutines never wait on the database (a full queue does make them wait). This is
// session bookkeeping, not the acknowledgement path: telemetry and events are stored before
// their PUBACK regardless; a crash can lose the last moments of session changes.
type stateHook struct {
	mqtt.HookBase
	st   StateStore
	log  *slog.Logger
	ops  chan StateOp
	done chan struct{}
	// mu guards closed: senders hold it shared while sending, Stop exclusively to close ops.
	mu     sync.RWMutex
	closed bool
}

func newStateHook(st StateStore, log *slog.Logger) *stateHook {
	h := &stateHook{st: st, log: log, ops: make(chan StateOp, 10000), done: make(chan struct{})}
	go h.run()
	return h
}

func (h *stateHook) ID() string { return "citybrain-state" }

func (h *stateHook) Provides(b byte) bool {
	switch b {
	case mqtt.OnSessionEstablished, mqtt.OnDisconnect, mqtt.OnSubscribed, mqtt.OnUnsubscribed, mqtt.OnRetainMessage,
		mqtt.OnRetainedExpired, mqtt.OnQosPublish, mqtt.OnQosComplete, mqtt.OnQosDropped, mqtt.OnClientExpired,
		mqtt.OnWillSent, mqtt.StoredClients, mqtt.StoredSubscriptions, mqtt.StoredRetainedMessages, mqtt.StoredInflightMessages:
		return true
	}
	return false
}

func (h *stateHook) run() {
	defer close(h.done)
	for op := range h.ops {
		batch := []StateOp{op}
	gather:
		for len(batch) < 500 {
			select {
			case o, ok := <-h.ops:
				if !ok {
					break gather
				}
				batch = append(batch, o)
			default:
				break gather
			}
		}
		for attempt := 0; ; attempt++ {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err := h.st.ApplyBrokerState(ctx, batch)
			cancel()
			if err == nil {
				break
			}
			if attempt == 2 {
				h.log.Warn("mqtt session state not persisted", "ops", len(batch), "err", err)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// Stop flushes the queue (mochi calls it on Close).
func (h *stateHook) Stop() error {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.ops)
	}
	h.mu.Unlock()
	<-h.done
	return nil
}

// send queues an op; after Stop (connections closing during shutdown) it is dropped.
func (h *stateHook) send(op StateOp) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if !h.closed {
		h.ops <- op
	}
}

func (h *stateHook) put(kind, key string, v interface{ MarshalBinary() ([]byte, error) }) {
	b, err := v.MarshalBinary()
	if err != nil {
		return
	}
	h.send(StateOp{Kind: kind, Key: key, Value: b})
}

func (h *stateHook) del(kind, key string) { h.send(StateOp{Kind: kind, Key: key, Delete: true}) }

func (h *stateHook) updateClient(cl *mqtt.Client) {
	props := cl.Properties.Props.Copy(false)
	h.put(StateClient, cl.ID, &storage.Client{
		ID: cl.ID, T: storage.ClientKey, Remote: cl.Net.Remote, Listener: cl.Net.Listener, Username: cl.Properties.Username,
		Clean: cl.Properties.Clean, ProtocolVersion: cl.Properties.ProtocolVersion,
		Properties: storage.ClientProperties{SessionExpiryInterval: props.SessionExpiryInterval, AuthenticationMethod: props.AuthenticationMethod,
			AuthenticationData: props.AuthenticationData, RequestProblemInfo: props.RequestProblemInfo, RequestResponseInfo: props.RequestResponseInfo,
			ReceiveMaximum: props.ReceiveMaximum, TopicAliasMaximum: props.TopicAliasMaximum, User: props.User, MaximumPacketSize: props.MaximumPacketSize},
		Will: storage.ClientWill(cl.Properties.Will),
	})
}

func (h *stateHook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	if cl.Properties.Clean && cl.Properties.ProtocolVersion < 5 {
		return // a clean 3.1.1 session ends with its connection: nothing to keep
	}
	h.updateClient(cl)
}

func (h *stateHook) OnWillSent(cl *mqtt.Client, _ packets.Packet) {
	if cl.Properties.Clean && cl.Properties.ProtocolVersion < 5 {
		return
	}
	h.updateClient(cl)
}

func (h *stateHook) OnDisconnect(cl *mqtt.Client, _ error, expire bool) {
	if !expire || cl.StopCause() == packets.ErrSessionTakenOver {
		return
	}
	h.del(StateClient, cl.ID)
}

func (h *stateHook) OnSubscribed(cl *mqtt.Client, pk packets.Packet, reasonCodes []byte) {
	if cl.Net.Inline || (cl.Properties.Clean && cl.Properties.ProtocolVersion < 5) {
		return
	}
	for i, f := range pk.Filters {
		if i >= len(reasonCodes) || reasonCodes[i] >= 0x80 {
			continue
		}
		h.put(StateSubscription, cl.ID+":"+f.Filter, &storage.Subscription{ID: cl.ID + ":" + f.Filter, T: storage.SubscriptionKey, Client: cl.ID,
			Qos: reasonCodes[i], Filter: f.Filter, Identifier: f.Identifier, NoLocal: f.NoLocal, RetainHandling: f.RetainHandling,
			RetainAsPublished: f.RetainAsPublished})
	}
}

func (h *stateHook) OnUnsubscribed(cl *mqtt.Client, pk packets.Packet) {
	for _, f := range pk.Filters {
		h.del(StateSubscription, cl.ID+":"+f.Filter)
	}
}

func message(cl *mqtt.Client, id, kind string, pk packets.Packet, sent int64) *storage.Message {
	props := pk.Properties.Copy(false)
	return &storage.Message{ID: id, T: kind, Client: cl.ID, Origin: pk.Origin, FixedHeader: pk.FixedHeader, TopicName: pk.TopicName,
		Payload: pk.Payload, Sent: sent, Created: pk.Created, PacketID: pk.PacketID,
		Properties: storage.MessageProperties{PayloadFormat: props.PayloadFormat, MessageExpiryInterval: props.MessageExpiryInterval,
			ContentType: props.ContentType, ResponseTopic: props.ResponseTopic, CorrelationData: props.CorrelationData,
			SubscriptionIdentifier: props.SubscriptionIdentifier, TopicAlias: props.TopicAlias, User: props.User}}
}

func (h *stateHook) OnRetainMessage(cl *mqtt.Client, pk packets.Packet, r int64) {
	if r == -1 {
		h.del(StateRetained, pk.TopicName)
		return
	}
	h.put(StateRetained, pk.TopicName, message(cl, pk.TopicName, storage.RetainedKey, pk, 0))
}

func (h *stateHook) OnRetainedExpired(filter string) { h.del(StateRetained, filter) }

func inflightID(cl *mqtt.Client, pk packets.Packet) string { return cl.ID + ":" + pk.FormatID() }

func (h *stateHook) OnQosPublish(cl *mqtt.Client, pk packets.Packet, sent int64, _ int) {
	if cl.Net.Inline || (cl.Properties.Clean && cl.Properties.ProtocolVersion < 5) {
		return
	}
	id := inflightID(cl, pk)
	h.put(StateInflight, id, message(cl, id, storage.InflightKey, pk, sent))
}

func (h *stateHook) OnQosComplete(cl *mqtt.Client, pk packets.Packet) {
	if cl.Net.Inline || (cl.Properties.Clean && cl.Properties.ProtocolVersion < 5) {
		return
	}
	h.del(StateInflight, inflightID(cl, pk))
}

func (h *stateHook) OnQosDropped(cl *mqtt.Client, pk packets.Packet) { h.OnQosComplete(cl, pk) }

func (h *stateHook) OnClientExpired(cl *mqtt.Client) { h.del(StateClient, cl.ID) }

func loadStates[T any, P interface {
	*T
	UnmarshalBinary([]byte) error
}](h *stateHook, kind string) ([]T, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	raw, err := h.st.BrokerStates(ctx, kind)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(raw))
	for _, b := range raw {
		var v T
		if err := P(&v).UnmarshalBinary(b); err != nil {
			h.log.Warn("skipping unreadable mqtt state", "kind", kind, "err", err)
			continue
		}
		out = append(out, v)
	}
	return out, nil
}

func (h *stateHook) StoredClients() ([]storage.Client, error) {
	return loadStates[storage.Client](h, StateClient)
}

func (h *stateHook) StoredSubscriptions() ([]storage.Subscription, error) {
	return loadStates[storage.Subscription](h, StateSubscription)
}

func (h *stateHook) StoredRetainedMessages() ([]storage.Message, error) {
	return loadStates[storage.Message](h, StateRetained)
}

func (h *stateHook) StoredInflightMessages() ([]storage.Message, error) {
	return loadStates[storage.Message](h, StateInflight)
}
