package device

import (
	"context"
	"hash/maphash"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Reasons a message or a value is refused. They are stable machine codes (metric labels, API
// fields); ReasonText gives the human sentence.
const (
	ReasonMalformed       = "malformed_json"
	ReasonNotObject       = "not_an_object"
	ReasonEmpty           = "empty"
	ReasonTooLarge        = "too_large"
	ReasonTooManyValues   = "too_many_values"
	ReasonUnknownKey      = "unknown_measurement"
	ReasonNotNumeric      = "not_numeric"
	ReasonNotBoolean      = "not_boolean"
	ReasonNotInEnum       = "not_in_enum"
	ReasonOutOfRange      = "out_of_range"
	ReasonFutureTS        = "future_timestamp"
	ReasonOldTS           = "old_timestamp"
	ReasonBadTS           = "bad_timestamp"
	ReasonDuplicateKey    = "duplicate_measurement"
	ReasonUnknownEvent    = "unknown_event"
	ReasonUnknownDevice   = "unknown_device"
	ReasonBadSecret       = "bad_secret"
	ReasonDisabled        = "disabled"
	ReasonACL             = "acl"
	ReasonUnknownTopic    = "unknown_topic"
	ReasonStorage         = "storage_unavailable"
	ReasonUnknownCommand  = "unknown_command"
	ReasonBadCommandReply = "bad_command_ack"
)

// ReasonText returns a bilingual sentence for a reason code.
func ReasonText(reason string) string {
	switch reason {
	case ReasonMalformed:
		return "不是有效的JSON / not valid JSON"
	case ReasonNotObject:
		return "须为JSON对象或对象数组 / must be a JSON object or an array of objects"
	case ReasonEmpty:
		return "消息中没有测量值 / the message carries no values"
	case ReasonTooLarge:
		return "消息超过大小上限 / the message is over the size limit"
	case ReasonTooManyValues:
		return "消息中测量值过多 / too many values in one message"
	case ReasonUnknownKey:
		return "该型号没有此测量项 / the profile has no such measurement"
	case ReasonNotNumeric:
		return "数值型测量项须为数字 / a numeric measurement must be a number"
	case ReasonNotBoolean:
		return "布尔型测量项须为true/false或1/0 / a boolean measurement must be true/false or 1/0"
	case ReasonNotInEnum:
		return "不是允许的代码 / not one of the allowed codes"
	case ReasonOutOfRange:
		return "超出该测量项的有效范围 / outside the measurement's valid range"
	case ReasonFutureTS:
		return "时间戳超前太多 / the timestamp is too far in the future"
	case ReasonOldTS:
		return "时间戳过旧 / the timestamp is too old"
	case ReasonBadTS:
		return "时间戳须为Unix毫秒整数 / ts must be an integer of Unix epoch milliseconds"
	case ReasonDuplicateKey:
		return "同一消息中测量项重复 / the measurement appears twice in one message"
	case ReasonUnknownEvent:
		return "该型号没有此事件 / the profile has no such event"
	case ReasonUnknownDevice:
		return "未注册的设备 / unknown device"
	case ReasonBadSecret:
		return "密钥错误 / wrong secret"
	case ReasonDisabled:
		return "设备已停用 / the device is disabled"
	case ReasonACL:
		return "只能发布和订阅本设备主题 devices/{id}/... / a device may use only its own topics devices/{id}/..."
	case ReasonUnknownTopic:
		return "未知主题 / unknown topic"
	case ReasonStorage:
		return "存储暂不可用, 请重试 / storage unavailable, retry"
	case ReasonUnknownCommand:
		return "该型号不支持此命令 / the profile does not accept this command"
	case ReasonBadCommandReply:
		return "命令应答格式错误 / malformed command acknowledgement"
	}
	return reason
}

// Rejection is one refused message or value, as recorded in a device's quarantine.
type Rejection struct {
	At          time.Time `json:"at"`
	Transport   string    `json:"transport"` // mqtt or http
	Topic       string    `json:"topic,omitempty"`
	Reason      string    `json:"reason"`
	Message     string    `json:"message"`
	Measurement string    `json:"measurement,omitempty"`
	Detail      string    `json:"detail,omitempty"`
	// Excerpt is the start of the payload (at most ExcerptBytes, cut at a rune boundary).
	Excerpt string `json:"excerpt,omitempty"`
}

// ExcerptBytes bounds the payload excerpt kept per rejection.
const ExcerptBytes = 256

// Excerpt returns the start of a payload, valid UTF-8 without NUL, at most ExcerptBytes long.
func Excerpt(p []byte) string {
	if len(p) > ExcerptBytes+1 {
		p = p[:ExcerptBytes+1] // clean cuts it to ExcerptBytes at a rune boundary
	}
	return clean(string(p), ExcerptBytes)
}

// clean makes device-supplied text safe to store and show: valid UTF-8 (invalid bytes become
// U+FFFD), no NUL (PostgreSQL TEXT refuses it), at most max bytes.
func clean(s string, max int) string {
	if len(s) > max {
		s = s[:max]
		for i := 0; i < utf8.UTFMax-1 && len(s) > 0; i++ { // drop a rune cut in half
			if r, size := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || size != 1 {
				break
			}
			s = s[:len(s)-1]
		}
	}
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	for len(s) > max+3 { // a replacement may have grown it
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return s
}

// QuarantineReport is a device's quarantine: the last rejections and counts per reason.
type QuarantineReport struct {
	DeviceID string            `json:"device_id"`
	Total    uint64            `json:"total"`
	ByReason map[string]uint64 `json:"by_reason"`
	Recent   []Rejection       `json:"recent"` // newest first
}

type qEntry struct {
	ring     []Rejection
	next     int
	full     bool
	total    uint64
	byReason map[string]uint64
}

type qShard struct {
	mu sync.Mutex
	m  map[string]*qEntry
}

// Quarantine keeps, per device, the last N rejections and counters by reason, in memory. The
// lead copy is here for the hot path; a QuarantineStore (SQL) may persist them. Safe for
// concurrent use; one device's rejections never block another device for long.
type Quarantine struct {
	keep   int
	seed   maphash.Seed
	shards [shardCount]qShard

	pmu     sync.Mutex
	pending []RejectionRecord
}

// NewQuarantine keeps the last keep rejections per device (default 50 when keep <= 0).
func NewQuarantine(keep int) *Quarantine {
	if keep <= 0 {
		keep = 50
	}
	q := &Quarantine{keep: keep, seed: maphash.MakeSeed()}
	for i := range q.shards {
		q.shards[i].m = map[string]*qEntry{}
	}
	return q
}

// Add records a rejection for a device. An empty Message is filled from the reason.
func (q *Quarantine) Add(deviceID string, r Rejection) {
	if r.Message == "" {
		r.Message = ReasonText(r.Reason)
	}
	r.Topic, r.Measurement, r.Detail, r.Excerpt = clean(r.Topic, 256), clean(r.Measurement, 128), clean(r.Detail, 512), clean(r.Excerpt, ExcerptBytes+64)
	s := &q.shards[maphash.String(q.seed, deviceID)%shardCount]
	s.mu.Lock()
	e := s.m[deviceID]
	if e == nil {
		e = &qEntry{ring: make([]Rejection, q.keep), byReason: map[string]uint64{}}
		s.m[deviceID] = e
	}
	e.ring[e.next] = r
	e.next++
	if e.next == len(e.ring) {
		e.next, e.full = 0, true
	}
	e.total++
	e.byReason[r.Reason]++
	s.mu.Unlock()
	q.queue(deviceID, r)
}

// Report returns a device's quarantine, newest rejection first.
func (q *Quarantine) Report(deviceID string) QuarantineReport {
	rep := QuarantineReport{DeviceID: deviceID, ByReason: map[string]uint64{}, Recent: []Rejection{}}
	s := &q.shards[maphash.String(q.seed, deviceID)%shardCount]
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[deviceID]
	if e == nil {
		return rep
	}
	rep.Total = e.total
	for k, v := range e.byReason {
		rep.ByReason[k] = v
	}
	n := e.next
	if e.full {
		n = len(e.ring)
	}
	for i := 0; i < n; i++ {
		idx := (e.next - 1 - i + len(e.ring)) % len(e.ring)
		rep.Recent = append(rep.Recent, e.ring[idx])
	}
	return rep
}

// Forget drops a deleted device's quarantine.
func (q *Quarantine) Forget(deviceID string) {
	s := &q.shards[maphash.String(q.seed, deviceID)%shardCount]
	s.mu.Lock()
	delete(s.m, deviceID)
	s.mu.Unlock()
}

// Devices returns the IDs of devices with rejections, sorted.
func (q *Quarantine) Devices() []string {
	var out []string
	for i := range q.shards {
		s := &q.shards[i]
		s.mu.Lock()
		for id := range s.m {
			out = append(out, id)
		}
		s.mu.Unlock()
	}
	sort.Strings(out)
	return out
}

// RejectionRecord is a rejection with its device, as persisted.
type RejectionRecord struct {
	DeviceID string
	Rejection
}

// QuarantineStore persists rejections (internal/store implements it in SQL). Safe for
// concurrent use.
type QuarantineStore interface {
	AddDeviceRejections(ctx context.Context, rs []RejectionRecord) error
	// DeviceRejections returns a device's latest rejections, newest first.
	DeviceRejections(ctx context.Context, deviceID string, limit int) ([]Rejection, error)
	// PruneDeviceRejections keeps only the newest keep rejections of each device.
	PruneDeviceRejections(ctx context.Context, keep int) error
}

// maxPending bounds the rejections waiting for Flush; beyond it the oldest are dropped (they
// stay counted and in the in-memory ring).
const maxPending = 10000

// Flush writes the rejections recorded since the last Flush to st. Run it periodically.
func (q *Quarantine) Flush(ctx context.Context, st QuarantineStore) (int, error) {
	q.pmu.Lock()
	batch := q.pending
	q.pending = nil
	q.pmu.Unlock()
	if len(batch) == 0 {
		return 0, nil
	}
	if err := st.AddDeviceRejections(ctx, batch); err != nil {
		return 0, err
	}
	return len(batch), nil
}

func (q *Quarantine) queue(deviceID string, r Rejection) {
	q.pmu.Lock()
	if len(q.pending) >= maxPending {
		q.pending = q.pending[1:]
	}
	q.pending = append(q.pending, RejectionRecord{DeviceID: deviceID, Rejection: r})
	q.pmu.Unlock()
}
