package device

import "context"

// BrokerStateOp is one change of the MQTT broker's persisted session state: a put of Value
// (an opaque record) under (Kind, Key), or a delete. The broker adapter (internal/ingest)
// defines the kinds; they are declared here so that internal/store can implement the store
// without depending on the adapter.
type BrokerStateOp struct {
	Kind, Key string
	Value     []byte
	Delete    bool
}

// BrokerStateStore persists the broker's sessions, subscriptions, retained and outbound
// in-flight messages so that they survive a restart. ApplyBrokerState applies the ops in order,
// atomically. Implementations must be safe for concurrent use.
type BrokerStateStore interface {
	ApplyBrokerState(ctx context.Context, ops []BrokerStateOp) error
	BrokerStates(ctx context.Context, kind string) ([][]byte, error)
}
