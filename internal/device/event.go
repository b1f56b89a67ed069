package device

import (
	"context"
	"time"
)

// Event is something a device reported on devices/{id}/events (a smoke alarm, a door opened).
type Event struct {
	ID       int64          `json:"id,omitempty"`
	DeviceID string         `json:"device_id"`
	Type     string         `json:"type"`
	Severity string         `json:"severity"`
	TS       int64          `json:"ts"` // epoch ms, from the device or stamped on arrival
	Data     map[string]any `json:"data,omitempty"`
	Received time.Time      `json:"received"`
}

// Command states.
const (
	CommandPending = "pending" // stored, not yet delivered (device offline)
	CommandSent    = "sent"    // published on devices/{id}/commands
	CommandAcked   = "acked"   // the device acknowledged success
	CommandFailed  = "failed"  // the device acknowledged failure
	CommandExpired = "expired" // no acknowledgement before the deadline
)

// Command is a downlink command to a device, tracked until the device acknowledges it on
// devices/{id}/commands/ack.
type Command struct {
	ID        string         `json:"id"`
	DeviceID  string         `json:"device_id"`
	Name      string         `json:"name"`
	Params    map[string]any `json:"params,omitempty"`
	Status    string         `json:"status"`
	Result    map[string]any `json:"result,omitempty"`
	Error     string         `json:"error,omitempty"`
	CreatedBy string         `json:"created_by,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
	SentAt    time.Time      `json:"sent_at,omitzero"`
	AckedAt   time.Time      `json:"acked_at,omitzero"`
	Deadline  time.Time      `json:"deadline"`
}

// EventStore stores events and commands durably (internal/store implements it in SQL). It must
// be safe for concurrent use. UpdateDeviceCommand returns ENOTFOUND for an unknown command.
type EventStore interface {
	AppendDeviceEvents(ctx context.Context, es []Event) error
	ListDeviceEvents(ctx context.Context, deviceID string, limit int) ([]Event, error)
	CreateDeviceCommand(ctx context.Context, c Command) error
	UpdateDeviceCommand(ctx context.Context, c Command) error
	GetDeviceCommand(ctx context.Context, id string) (Command, error)
	ListDeviceCommands(ctx context.Context, deviceID string, limit int) ([]Command, error)
	// DueDeviceCommands returns up to limit commands still pending or sent whose deadline is
	// before now, oldest deadline first.
	DueDeviceCommands(ctx context.Context, now time.Time, limit int) ([]Command, error)
}
