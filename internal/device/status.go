package device

import (
	"hash/maphash"
	"sort"
	"sync"
	"time"
)

// SilenceFactor: a device is flagged silent when nothing arrived for SilenceFactor × its
// profile's expected report interval.
const SilenceFactor = 2.5

// LowBattery is the battery level (%) at or below which a device counts as low on battery.
const LowBattery = 20.0

// Device states as reported by Status.State.
const (
	StateOnline    = "online"     // connected to the broker, or reported within the silence window
	StateSilent    = "silent"     // connected or recently known, but nothing for SilenceFactor × interval
	StateOffline   = "offline"    // disconnected (clean disconnect or last will) and not reporting
	StateNeverSeen = "never_seen" // registered but never connected or reported
	StateDisabled  = "disabled"
)

// Status is a snapshot of a device's live status.
type Status struct {
	DeviceID  string    `json:"device_id"`
	State     string    `json:"state"`
	Connected bool      `json:"connected"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	// ConnChangedAt is when the MQTT connection last opened or closed.
	ConnChangedAt time.Time `json:"conn_changed_at,omitzero"`
	// OfflineReason says why the last connection closed: "disconnect", "will", "error", "kicked".
	OfflineReason string   `json:"offline_reason,omitempty"`
	Battery       *float64 `json:"battery,omitempty"`
	RSSI          *float64 `json:"rssi,omitempty"`
	Signal        *float64 `json:"signal,omitempty"`
	Silent        bool     `json:"silent"`
	Messages      uint64   `json:"messages"`
}

type devState struct {
	interval      time.Duration
	connected     bool
	connChanged   int64 // unix ms
	offlineReason string
	lastSeen      int64 // unix ms, 0 = never
	lastTS        int64 // last server-assigned reading timestamp, for monotonic stamping
	battery       float64
	rssi          float64
	signal        float64
	has           uint8 // bit 0 battery, 1 rssi, 2 signal
	silentFlagged bool
	disabled      bool
	messages      uint64
}

const shardCount = 64

type statusShard struct {
	mu sync.Mutex
	m  map[string]*devState
}

// StatusTracker keeps the live status of every device in memory. It is sharded by device ID so
// that concurrent devices rarely contend. Safe for concurrent use.
type StatusTracker struct {
	seed   maphash.Seed
	shards [shardCount]statusShard
}

// NewStatusTracker returns an empty tracker.
func NewStatusTracker() *StatusTracker {
	t := &StatusTracker{seed: maphash.MakeSeed()}
	for i := range t.shards {
		t.shards[i].m = map[string]*devState{}
	}
	return t
}

func (t *StatusTracker) shard(id string) *statusShard {
	return &t.shards[maphash.String(t.seed, id)%shardCount]
}

// get returns the state of id, creating it; the shard lock must be held.
func (s *statusShard) get(id string) *devState {
	st := s.m[id]
	if st == nil {
		st = &devState{interval: 10 * time.Minute}
		s.m[id] = st
	}
	return st
}

// Register makes a device known with its expected report interval (registry load and create).
func (t *StatusTracker) Register(id string, interval time.Duration, disabled bool) {
	s := t.shard(id)
	s.mu.Lock()
	st := s.get(id)
	if interval > 0 {
		st.interval = interval
	}
	st.disabled = disabled
	s.mu.Unlock()
}

// Restore seeds a device's last-seen time and status values from stored telemetry after a
// restart, so silence is judged from the last real report rather than from the restart.
func (t *StatusTracker) Restore(id string, lastSeenMs int64, v StatusValues) {
	s := t.shard(id)
	s.mu.Lock()
	st := s.get(id)
	if lastSeenMs > st.lastSeen {
		st.lastSeen = lastSeenMs
	}
	if v.Has&HasBattery != 0 {
		st.battery = v.Battery
	}
	if v.Has&HasRSSI != 0 {
		st.rssi = v.RSSI
	}
	if v.Has&HasSignal != 0 {
		st.signal = v.Signal
	}
	st.has |= v.Has
	s.mu.Unlock()
}

// Forget drops a deleted device.
func (t *StatusTracker) Forget(id string) {
	s := t.shard(id)
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

// Connected records an MQTT connection. It returns true when the device was not connected.
func (t *StatusTracker) Connected(id string, now time.Time) bool {
	s := t.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.get(id)
	was := st.connected
	st.connected = true
	st.connChanged = now.UnixMilli()
	st.offlineReason = ""
	st.lastSeen = now.UnixMilli()
	st.silentFlagged = false
	return !was
}

// Disconnected records the end of an MQTT connection with its reason. It returns true when the
// device was connected.
func (t *StatusTracker) Disconnected(id string, now time.Time, reason string) bool {
	s := t.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.get(id)
	was := st.connected
	st.connected = false
	st.connChanged = now.UnixMilli()
	st.offlineReason = reason
	return was
}

// StatusValues carries the battery/rssi/signal values found in one message; Has bits say which.
type StatusValues struct {
	Battery, RSSI, Signal float64
	Has                   uint8 // HasBattery | HasRSSI | HasSignal
}

// Bits of StatusValues.Has.
const (
	HasBattery uint8 = 1 << iota
	HasRSSI
	HasSignal
)

// Seen records that a message from the device arrived at nowMs (unix ms) with optional status
// values. It returns true when the device was flagged silent before (it came back).
func (t *StatusTracker) Seen(id string, nowMs int64, v StatusValues) (cameBack bool) {
	s := t.shard(id)
	s.mu.Lock()
	st := s.get(id)
	if nowMs > st.lastSeen {
		st.lastSeen = nowMs
	}
	st.messages++
	if v.Has&HasBattery != 0 {
		st.battery = v.Battery
	}
	if v.Has&HasRSSI != 0 {
		st.rssi = v.RSSI
	}
	if v.Has&HasSignal != 0 {
		st.signal = v.Signal
	}
	st.has |= v.Has
	cameBack = st.silentFlagged
	st.silentFlagged = false
	s.mu.Unlock()
	return cameBack
}

// StampTS returns a server timestamp for a reading without one: nowMs, or one more than the
// last stamp given to this device, so that two messages in the same millisecond never collide
// in the (device, measurement, ts) deduplication.
func (t *StatusTracker) StampTS(id string, nowMs int64) int64 {
	s := t.shard(id)
	s.mu.Lock()
	st := s.get(id)
	if nowMs <= st.lastTS {
		nowMs = st.lastTS + 1
	}
	st.lastTS = nowMs
	s.mu.Unlock()
	return nowMs
}

func (st *devState) silent(nowMs int64) bool {
	limit := int64(float64(st.interval.Milliseconds()) * SilenceFactor)
	return st.lastSeen != 0 && nowMs-st.lastSeen > limit
}

func (st *devState) snapshot(id string, now time.Time) Status {
	nowMs := now.UnixMilli()
	s := Status{DeviceID: id, Connected: st.connected, OfflineReason: st.offlineReason, Messages: st.messages}
	if st.lastSeen != 0 {
		s.LastSeen = time.UnixMilli(st.lastSeen).UTC()
	}
	if st.connChanged != 0 {
		s.ConnChangedAt = time.UnixMilli(st.connChanged).UTC()
	}
	if st.has&HasBattery != 0 {
		v := st.battery
		s.Battery = &v
	}
	if st.has&HasRSSI != 0 {
		v := st.rssi
		s.RSSI = &v
	}
	if st.has&HasSignal != 0 {
		v := st.signal
		s.Signal = &v
	}
	s.Silent = st.silent(nowMs)
	switch {
	case st.disabled:
		s.State = StateDisabled
	case st.lastSeen == 0 && !st.connected:
		s.State = StateNeverSeen
	case s.Silent:
		s.State = StateSilent
	case st.connected:
		s.State = StateOnline
	case st.connChanged != 0 && st.connChanged >= st.lastSeen:
		// the connection closed after the last message: offline until it reports again
		s.State = StateOffline
	default:
		s.State = StateOnline // reports over HTTP within its window
	}
	return s
}

// Get returns the status of a device; a device never registered nor seen is StateNeverSeen.
func (t *StatusTracker) Get(id string, now time.Time) Status {
	s := t.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.m[id]
	if st == nil {
		return Status{DeviceID: id, State: StateNeverSeen}
	}
	return st.snapshot(id, now)
}

// Sweep flags devices that have become silent since the last sweep and returns their status,
// ordered by device ID. Run it periodically (every few seconds); each silence is reported once.
func (t *StatusTracker) Sweep(now time.Time) []Status {
	nowMs := now.UnixMilli()
	var out []Status
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for id, st := range s.m {
			if !st.disabled && !st.silentFlagged && st.silent(nowMs) {
				st.silentFlagged = true
				out = append(out, st.snapshot(id, now))
			}
		}
		s.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DeviceID < out[j].DeviceID })
	return out
}

// Connections returns how many devices are connected.
func (t *StatusTracker) Connections() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for _, st := range s.m {
			if st.connected {
				n++
			}
		}
		s.mu.Unlock()
	}
	return n
}
