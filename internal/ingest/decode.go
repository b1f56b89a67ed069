package ingest

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/citybrain/citybrain/internal/device"
	"github.com/citybrain/citybrain/internal/telemetry"
)

// Limits bounds what one telemetry message may carry. The zero value is not useful; start from
// DefaultLimits.
type Limits struct {
	// MaxBytes is the largest accepted payload (default 64 KiB).
	MaxBytes int
	// MaxValues is the most values one message may carry, over all its entries (default 1000).
	MaxValues int
	// MaxFuture is how far ahead of the server clock a timestamp may be (default 5 min).
	MaxFuture time.Duration
	// MaxAge is how old a timestamp may be (default 30 days, the raw retention).
	MaxAge time.Duration
}

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 64 << 10, MaxValues: 1000, MaxFuture: 5 * time.Minute, MaxAge: 30 * 24 * time.Hour}
}

// maxDepth bounds the nesting of skipped JSON values.
const maxDepth = 32

// minPlausibleTS is 1973-03-03 in epoch ms: a smaller ts is almost certainly in seconds.
const minPlausibleTS = 100_000_000_000

// DecodeError is a refusal of a whole message.
type DecodeError struct {
	Reason string // a device.Reason* code
	Detail string // what exactly, for the device maker
}

// Error implements error.
func (e *DecodeError) Error() string {
	if e.Detail == "" {
		return e.Reason + ": " + device.ReasonText(e.Reason)
	}
	return e.Reason + ": " + device.ReasonText(e.Reason) + ": " + e.Detail
}

// ValueRejection is one value of an otherwise accepted message that was refused.
type ValueRejection struct {
	Measurement string `json:"measurement,omitempty"`
	Reason      string `json:"reason"`
	Detail      string `json:"detail,omitempty"`
}

// Batch is the result of decoding one message. Reuse a Batch (Reset) to decode without
// allocating on the hot path.
type Batch struct {
	Readings []telemetry.Reading
	Rejected []ValueRejection
	Status   device.StatusValues
	// entryStart is the index of the first reading of the entry being decoded.
	entryStart int
	values     int
}

// Reset empties the batch, keeping its storage.
func (b *Batch) Reset() {
	b.Readings = b.Readings[:0]
	b.Rejected = b.Rejected[:0]
	b.Status = device.StatusValues{}
	b.values = 0
}

type decoder struct {
	buf     []byte
	pos     int
	lim     *Limits
	prof    *device.Profile
	dev     string
	nowMs   int64
	stampMs int64
	out     *Batch
}

func (d *decoder) fail(reason, detail string) *DecodeError {
	return &DecodeError{Reason: reason, Detail: detail}
}

func (d *decoder) malformed(what string) *DecodeError {
	return d.fail(device.ReasonMalformed, what+" at byte "+strconv.Itoa(d.pos))
}

// Decode decodes a telemetry payload of device deviceID with profile p into out (appending; call
// out.Reset first to reuse it). nowMs is the arrival time and stampMs the timestamp given to
// entries without "ts" (see device.StatusTracker.StampTS). A message-level refusal is returned as
// a *DecodeError; refused single values are listed in out.Rejected while the others are kept.
//
// Accepted shapes: {"key": number|bool, ...}; {"ts": epochMs, "values": {...}}; a flat object
// with "ts" beside the keys; a JSON array of such objects.
func (l *Limits) Decode(out *Batch, deviceID string, p *device.Profile, payload []byte, nowMs, stampMs int64) error {
	if l.MaxBytes > 0 && len(payload) > l.MaxBytes {
		return &DecodeError{Reason: device.ReasonTooLarge, Detail: strconv.Itoa(len(payload)) + " bytes > limit " + strconv.Itoa(l.MaxBytes)}
	}
	d := decoder{buf: payload, lim: l, prof: p, dev: deviceID, nowMs: nowMs, stampMs: stampMs, out: out}
	start, startRej := len(out.Readings), len(out.Rejected)
	if err := d.top(); err != nil {
		out.Readings, out.Rejected = out.Readings[:start], out.Rejected[:startRej]
		out.Status = device.StatusValues{}
		return err
	}
	if len(out.Readings) == start && len(out.Rejected) == startRej {
		return &DecodeError{Reason: device.ReasonEmpty}
	}
	return nil
}

func (d *decoder) ws() {
	for d.pos < len(d.buf) {
		switch d.buf[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) top() error {
	d.ws()
	if d.pos >= len(d.buf) {
		return d.fail(device.ReasonMalformed, "empty payload")
	}
	switch d.buf[d.pos] {
	case '{':
		if err := d.entry(); err != nil {
			return err
		}
	case '[':
		d.pos++
		d.ws()
		if d.pos < len(d.buf) && d.buf[d.pos] == ']' {
			d.pos++
			break
		}
		for {
			d.ws()
			if d.pos >= len(d.buf) {
				return d.malformed("unterminated array")
			}
			if d.buf[d.pos] != '{' {
				if err := d.skipValue(0); err != nil {
					return err
				}
				return d.fail(device.ReasonNotObject, "array elements must be objects")
			}
			if err := d.entry(); err != nil {
				return err
			}
			d.ws()
			if d.pos >= len(d.buf) {
				return d.malformed("unterminated array")
			}
			if d.buf[d.pos] == ',' {
				d.pos++
				continue
			}
			if d.buf[d.pos] == ']' {
				d.pos++
				break
			}
			return d.malformed("expected , or ]")
		}
	default:
		if err := d.skipValue(0); err != nil {
			return err
		}
		d.ws()
		if d.pos != len(d.buf) {
			return d.malformed("trailing data")
		}
		return d.fail(device.ReasonNotObject, "")
	}
	d.ws()
	if d.pos != len(d.buf) {
		return d.malformed("trailing data")
	}
	return nil
}

// entry decodes one object: measurements, optional "ts", optional "values" object.
func (d *decoder) entry() error {
	d.out.entryStart = len(d.out.Readings)
	rejStart := len(d.out.Rejected)
	ts := int64(-1)
	d.pos++ // {
	err := d.members(func(key []byte, top bool) error {
		if top && string(key) == "ts" {
			v, err := d.tsValue()
			if err != nil {
				return err
			}
			ts = v
			return nil
		}
		if top && string(key) == "values" {
			d.ws()
			if d.pos >= len(d.buf) || d.buf[d.pos] != '{' {
				if err := d.skipValue(0); err != nil {
					return err
				}
				return d.fail(device.ReasonNotObject, `"values" must be an object`)
			}
			d.pos++
			return d.members(func(k []byte, _ bool) error { return d.measurement(k) }, false)
		}
		return d.measurement(key)
	}, true)
	if err != nil {
		return err
	}
	if ts == -1 {
		ts = d.stampMs
	} else if reason, detail := d.checkTS(ts); reason != "" {
		// every value of the entry is refused for its timestamp
		n := len(d.out.Readings) - d.out.entryStart
		d.out.Readings = d.out.Readings[:d.out.entryStart]
		d.out.Rejected = append(d.out.Rejected, ValueRejection{Reason: reason, Detail: detail + " (" + strconv.Itoa(n) + " values)"})
		return nil
	}
	rs := d.out.Readings[d.out.entryStart:]
	for i := range rs {
		rs[i].TS = ts
		for j := 0; j < i; j++ {
			if rs[j].Measurement == rs[i].Measurement {
				d.out.Rejected = append(d.out.Rejected, ValueRejection{Measurement: rs[i].Measurement, Reason: device.ReasonDuplicateKey})
				rs[i].DeviceID = "" // marked for removal
				break
			}
		}
	}
	// drop duplicates marked above (rare)
	if len(d.out.Rejected) > rejStart {
		k := d.out.entryStart
		for _, r := range rs {
			if r.DeviceID != "" {
				d.out.Readings[k] = r
				k++
			}
		}
		d.out.Readings = d.out.Readings[:k]
	}
	return nil
}

func (d *decoder) checkTS(ts int64) (string, string) {
	if ts < minPlausibleTS {
		return device.ReasonBadTS, strconv.FormatInt(ts, 10) + " looks like seconds: send epoch milliseconds"
	}
	if d.lim.MaxFuture > 0 && ts > d.nowMs+d.lim.MaxFuture.Milliseconds() {
		return device.ReasonFutureTS, strconv.FormatInt((ts-d.nowMs)/1000, 10) + " s ahead of the server clock"
	}
	if d.lim.MaxAge > 0 && ts < d.nowMs-d.lim.MaxAge.Milliseconds() {
		return device.ReasonOldTS, strconv.FormatInt((d.nowMs-ts)/86_400_000, 10) + " days old"
	}
	return "", ""
}

// members walks the members of an object whose '{' has been consumed, calling fn for each key
// with the position at the value.
func (d *decoder) members(fn func(key []byte, top bool) error, top bool) error {
	d.ws()
	if d.pos < len(d.buf) && d.buf[d.pos] == '}' {
		d.pos++
		return nil
	}
	for {
		d.ws()
		if d.pos >= len(d.buf) || d.buf[d.pos] != '"' {
			return d.malformed("expected a key")
		}
		key, err := d.str()
		if err != nil {
			return err
		}
		d.ws()
		if d.pos >= len(d.buf) || d.buf[d.pos] != ':' {
			return d.malformed("expected :")
		}
		d.pos++
		d.ws()
		if err := fn(key, top); err != nil {
			return err
		}
		d.ws()
		if d.pos >= len(d.buf) {
			return d.malformed("unterminated object")
		}
		switch d.buf[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return nil
		default:
			return d.malformed("expected , or }")
		}
	}
}

// str reads a string at d.pos (on the opening quote) and returns its decoded bytes. Strings
// without escapes are returned as a sub-slice of the payload (no allocation).
func (d *decoder) str() ([]byte, error) {
	start := d.pos
	d.pos++
	escaped := false
	for d.pos < len(d.buf) {
		c := d.buf[d.pos]
		switch {
		case c == '"':
			d.pos++
			if !escaped {
				return d.buf[start+1 : d.pos-1], nil
			}
			var s string
			if err := json.Unmarshal(d.buf[start:d.pos], &s); err != nil {
				return nil, d.malformed("bad string escape")
			}
			return []byte(s), nil
		case c == '\\':
			escaped = true
			d.pos += 2
		case c < 0x20:
			return nil, d.malformed("control character in string")
		default:
			d.pos++
		}
	}
	return nil, d.malformed("unterminated string")
}

// number reads a JSON number at d.pos and returns its text.
func (d *decoder) number() ([]byte, bool) {
	start := d.pos
	i := d.pos
	if i < len(d.buf) && d.buf[i] == '-' {
		i++
	}
	if i >= len(d.buf) {
		return nil, false
	}
	if d.buf[i] == '0' {
		i++
	} else if d.buf[i] >= '1' && d.buf[i] <= '9' {
		for i < len(d.buf) && d.buf[i] >= '0' && d.buf[i] <= '9' {
			i++
		}
	} else {
		return nil, false
	}
	if i < len(d.buf) && d.buf[i] == '.' {
		i++
		j := i
		for i < len(d.buf) && d.buf[i] >= '0' && d.buf[i] <= '9' {
			i++
		}
		if i == j {
			return nil, false
		}
	}
	if i < len(d.buf) && (d.buf[i] == 'e' || d.buf[i] == 'E') {
		i++
		if i < len(d.buf) && (d.buf[i] == '+' || d.buf[i] == '-') {
			i++
		}
		j := i
		for i < len(d.buf) && d.buf[i] >= '0' && d.buf[i] <= '9' {
			i++
		}
		if i == j {
			return nil, false
		}
	}
	d.pos = i
	return d.buf[start:i], true
}

func (d *decoder) tsValue() (int64, error) {
	if d.pos < len(d.buf) && (d.buf[d.pos] == '-' || d.buf[d.pos] >= '0' && d.buf[d.pos] <= '9') {
		txt, ok := d.number()
		if !ok {
			return 0, d.malformed("bad number")
		}
		if v, err := strconv.ParseInt(string(txt), 10, 64); err == nil && v >= 0 {
			return v, nil
		}
		f, err := strconv.ParseFloat(string(txt), 64)
		if err == nil && f >= 0 && f < 1e15 && f == float64(int64(f)) {
			return int64(f), nil
		}
		return 0, d.fail(device.ReasonBadTS, string(txt))
	}
	if err := d.skipValue(0); err != nil {
		return 0, err
	}
	return 0, d.fail(device.ReasonBadTS, "ts is not a number")
}

func (d *decoder) reject(key []byte, reason, detail string) {
	d.out.Rejected = append(d.out.Rejected, ValueRejection{Measurement: string(key), Reason: reason, Detail: detail})
}

// measurement decodes the value of key at d.pos.
func (d *decoder) measurement(key []byte) error {
	d.out.values++
	if d.lim.MaxValues > 0 && d.out.values > d.lim.MaxValues {
		return d.fail(device.ReasonTooManyValues, "more than "+strconv.Itoa(d.lim.MaxValues)+" values")
	}
	m := d.prof.Measurement(string(key)) // no allocation: map index with string(bytes)
	var name string
	if m != nil {
		name = m.Key
	} else if !d.prof.Generic {
		if err := d.skipValue(0); err != nil {
			return err
		}
		d.reject(key, device.ReasonUnknownKey, "profile "+d.prof.Code)
		return nil
	} else if !validGenericKey(key) {
		if err := d.skipValue(0); err != nil {
			return err
		}
		d.reject(key, device.ReasonUnknownKey, "keys are 1-64 characters of A-Z a-z 0-9 _ . -")
		return nil
	}
	if d.pos >= len(d.buf) {
		return d.malformed("missing value")
	}
	var v float64
	switch c := d.buf[d.pos]; {
	case c == 't' || c == 'f':
		isTrue := c == 't'
		if err := d.literal(); err != nil {
			return err
		}
		if m == nil || m.Kind != device.KindBoolean {
			d.reject(key, device.ReasonNotNumeric, "a boolean for a numeric measurement")
			return nil
		}
		if isTrue {
			v = 1
		}
	case c == '-' || c >= '0' && c <= '9':
		txt, ok := d.number()
		if !ok {
			return d.malformed("bad number")
		}
		f, err := strconv.ParseFloat(string(txt), 64)
		if err != nil { // overflow to ±Inf
			d.reject(key, device.ReasonOutOfRange, "not a finite number")
			return nil
		}
		v = f
	default:
		if err := d.skipValue(0); err != nil {
			return err
		}
		d.reject(key, device.ReasonNotNumeric, "")
		return nil
	}
	if m != nil {
		if reason := m.Check(v); reason != "" {
			d.reject(key, reason, strconv.FormatFloat(v, 'g', -1, 64)+" "+m.Unit)
			return nil
		}
		if m.Status {
			switch m.Key {
			case device.KeyBattery:
				d.out.Status.Battery, d.out.Status.Has = v, d.out.Status.Has|device.HasBattery
			case device.KeyRSSI:
				d.out.Status.RSSI, d.out.Status.Has = v, d.out.Status.Has|device.HasRSSI
			case device.KeySignal:
				d.out.Status.Signal, d.out.Status.Has = v, d.out.Status.Has|device.HasSignal
			}
		}
	} else {
		name = string(key) // generic profile: a new key string
	}
	d.out.Readings = append(d.out.Readings, telemetry.Reading{DeviceID: d.dev, Measurement: name, Value: v})
	return nil
}

func validGenericKey(k []byte) bool {
	if len(k) == 0 || len(k) > 64 {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func (d *decoder) literal() error {
	for _, lit := range [...]string{"true", "false", "null"} {
		if len(d.buf)-d.pos >= len(lit) && string(d.buf[d.pos:d.pos+len(lit)]) == lit {
			d.pos += len(lit)
			return nil
		}
	}
	return d.malformed("bad literal")
}

// skipValue skips any JSON value at d.pos, checking its syntax.
func (d *decoder) skipValue(depth int) error {
	if depth > maxDepth {
		return d.malformed("nesting too deep")
	}
	d.ws()
	if d.pos >= len(d.buf) {
		return d.malformed("missing value")
	}
	switch c := d.buf[d.pos]; {
	case c == '"':
		_, err := d.str()
		return err
	case c == '{':
		d.pos++
		return d.members(func(_ []byte, _ bool) error { return d.skipValue(depth + 1) }, false)
	case c == '[':
		d.pos++
		d.ws()
		if d.pos < len(d.buf) && d.buf[d.pos] == ']' {
			d.pos++
			return nil
		}
		for {
			if err := d.skipValue(depth + 1); err != nil {
				return err
			}
			d.ws()
			if d.pos >= len(d.buf) {
				return d.malformed("unterminated array")
			}
			if d.buf[d.pos] == ',' {
				d.pos++
				continue
			}
			if d.buf[d.pos] == ']' {
				d.pos++
				return nil
			}
			return d.malformed("expected , or ]")
		}
	case c == 't' || c == 'f' || c == 'n':
		return d.literal()
	case c == '-' || c >= '0' && c <= '9':
		if _, ok := d.number(); !ok {
			return d.malformed("bad number")
		}
		return nil
	}
	return d.malformed("unexpected character")
}
