package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/citybrain/citybrain"
)

// Actions the platform records. Action is a free string so new kinds need no change here; these
// are the ones the governance and HTTP layers use.
const (
	ActionRead   = "read"   // data graded 一般3 or above was returned (in full)
	ActionMask   = "mask"   // data was returned masked or aggregated
	ActionDeny   = "deny"   // a read was refused by the data-governance decision
	ActionChange = "change" // a classification, rule, grant, consent or other setting changed
	ActionExport = "export" // data (including this log) was exported or downloaded
)

// Limits on one entry; larger entries are refused with ETOOLARGE (rows are truncated instead).
const (
	// MaxRows is how many row ids an entry lists; Object.RowCount keeps the true number.
	MaxRows = 1000
	// MaxEntryBytes bounds the canonical encoding of one entry.
	MaxEntryBytes = 64 << 10
	// MaxDetail is the most detail keys an entry may carry.
	MaxDetail = 64
)

// formatVersion is written as "v" in every entry so the encoding can evolve.
const formatVersion = 1

// Actor is who acted, as recorded: a snapshot, not a reference, so later renames do not rewrite
// history.
type Actor struct {
	UserID   int64  `json:"user_id,omitempty"`
	Username string `json:"username,omitempty"`
	Role     string `json:"role,omitempty"`
	Dept     string `json:"dept,omitempty"`   // department code
	Area     string `json:"area,omitempty"`   // area code (street, community, grid)
	Device   string `json:"device,omitempty"` // device id when a device acted
}

// Object is what was acted on.
type Object struct {
	Dataset  string   `json:"dataset,omitempty"`   // dataset or catalog name, e.g. "residents" or "workorders"
	Table    string   `json:"table,omitempty"`     // table or resource inside the dataset, if any
	Rows     []string `json:"rows,omitempty"`      // row ids (at most MaxRows; RowCount tells how many there were)
	RowCount int64    `json:"row_count,omitempty"` // number of rows touched; 0 when unknown or not row-based
	Columns  []string `json:"columns,omitempty"`   // attributes touched
}

// Entry is one audit record. Seq and, when zero, Time are set by the Log. The json tags give
// the API view; the hashed form is AppendCanonical.
type Entry struct {
	Seq      int64             `json:"seq"` // position in the log, from 0
	Time     time.Time         `json:"time"`
	Actor    Actor             `json:"actor"`
	Action   string            `json:"action"`             // one of the Action* constants or another short verb
	Object   Object            `json:"object"`             // what was acted on
	Decision string            `json:"decision,omitempty"` // FULL, MASKED, AGGREGATE_ONLY, DENY, or "" when not a read
	Purpose  string            `json:"purpose,omitempty"`  // the stated purpose (用途) of the access
	Detail   map[string]string `json:"detail,omitempty"`   // anything else worth keeping: rule id, grant id, old/new values
}

// DecisionAction returns the action to record for a data-governance decision: FULL → read,
// MASKED and AGGREGATE_ONLY → mask, DENY → deny, anything else → read.
func DecisionAction(decision string) string {
	switch strings.ToUpper(decision) {
	case "MASKED", "AGGREGATE_ONLY":
		return ActionMask
	case "DENY":
		return ActionDeny
	}
	return ActionRead
}

// ActorOf converts the platform's acting user into the recorded snapshot; nil gives the zero Actor.
func ActorOf(a *citybrain.Actor) Actor {
	if a == nil {
		return Actor{}
	}
	return Actor{UserID: a.UserID, Username: a.Username, Role: a.Role, Dept: a.Department, Area: a.Area, Device: a.DeviceID}
}

// normalize makes e valid for encoding: strings valid UTF-8, rows truncated, time in UTC at
// microsecond precision (what both SQL backends keep). It returns an EINVALID or ETOOLARGE error
// for entries that cannot be recorded.
func (e *Entry) normalize() error {
	fix := func(s *string) {
		if !utf8.ValidString(*s) {
			*s = strings.ToValidUTF8(*s, "\uFFFD")
		}
	}
	if strings.TrimSpace(e.Action) == "" {
		return citybrain.FieldError("action", "操作不能为空 (action is required)")
	}
	if utf8.RuneCountInString(e.Action) > 64 {
		return citybrain.FieldError("action", "操作名称过长 (action longer than 64 characters)")
	}
	for _, s := range []*string{&e.Actor.Username, &e.Actor.Role, &e.Actor.Dept, &e.Actor.Area, &e.Actor.Device,
		&e.Action, &e.Object.Dataset, &e.Object.Table, &e.Decision, &e.Purpose} {
		fix(s)
	}
	if n := int64(len(e.Object.Rows)); n > e.Object.RowCount {
		e.Object.RowCount = n
	}
	if len(e.Object.Rows) > MaxRows {
		e.Object.Rows = e.Object.Rows[:MaxRows:MaxRows]
	}
	e.Object.Rows = append([]string(nil), e.Object.Rows...)
	for i := range e.Object.Rows {
		fix(&e.Object.Rows[i])
	}
	e.Object.Columns = append([]string(nil), e.Object.Columns...)
	for i := range e.Object.Columns {
		fix(&e.Object.Columns[i])
	}
	if len(e.Detail) > MaxDetail {
		return citybrain.Errorf(citybrain.ETOOLARGE, "审计详情字段过多 (more than %d detail keys)", MaxDetail)
	}
	if len(e.Detail) > 0 {
		d := make(map[string]string, len(e.Detail))
		for k, v := range e.Detail {
			fix(&k)
			fix(&v)
			d[k] = v
		}
		e.Detail = d
	} else {
		e.Detail = nil
	}
	if len(e.Object.Rows) == 0 {
		e.Object.Rows = nil
	}
	if len(e.Object.Columns) == 0 {
		e.Object.Columns = nil
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	return nil
}

// AppendCanonical appends the canonical encoding of e to buf: JSON with keys sorted by byte value,
// no white space, empty fields left out, strings as UTF-8 with only '"', '\\' and control
// characters escaped, and time as RFC 3339 in UTC. Equal entries always give equal bytes; the
// leaf hash of the entry is tlog.RecordHash of these bytes.
func (e *Entry) AppendCanonical(buf []byte) []byte {
	buf = append(buf, `{"action":`...)
	buf = appendString(buf, e.Action)
	buf = append(buf, `,"actor":{`...)
	first := true
	field := func(name string) {
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = append(buf, '"')
		buf = append(buf, name...)
		buf = append(buf, '"', ':')
	}
	str := func(name, v string) {
		if v != "" {
			field(name)
			buf = appendString(buf, v)
		}
	}
	list := func(name string, v []string) {
		if len(v) > 0 {
			field(name)
			buf = append(buf, '[')
			for i, s := range v {
				if i > 0 {
					buf = append(buf, ',')
				}
				buf = appendString(buf, s)
			}
			buf = append(buf, ']')
		}
	}
	num := func(name string, v int64) {
		if v != 0 {
			field(name)
			buf = strconv.AppendInt(buf, v, 10)
		}
	}
	a := &e.Actor
	str("area", a.Area)
	str("dept", a.Dept)
	str("device", a.Device)
	num("id", a.UserID)
	str("role", a.Role)
	str("user", a.Username)
	buf = append(buf, '}')
	first = false
	str("decision", e.Decision)
	if len(e.Detail) > 0 {
		field("detail")
		keys := make([]string, 0, len(e.Detail))
		for k := range e.Detail {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		buf = append(buf, '{')
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendString(buf, k)
			buf = append(buf, ':')
			buf = appendString(buf, e.Detail[k])
		}
		buf = append(buf, '}')
	}
	field("object")
	buf = append(buf, '{')
	first = true
	o := &e.Object
	list("columns", o.Columns)
	str("dataset", o.Dataset)
	num("row_count", o.RowCount)
	list("rows", o.Rows)
	str("table", o.Table)
	buf = append(buf, '}')
	first = false
	str("purpose", e.Purpose)
	field("seq")
	buf = strconv.AppendInt(buf, e.Seq, 10)
	field("time")
	buf = append(buf, '"')
	buf = e.Time.UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, '"')
	field("v")
	buf = strconv.AppendInt(buf, formatVersion, 10)
	buf = append(buf, '}')
	return buf
}

const hexDigits = "0123456789abcdef"

func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c == '\n':
			buf = append(buf, '\\', 'n')
		case c == '\r':
			buf = append(buf, '\\', 'r')
		case c == '\t':
			buf = append(buf, '\\', 't')
		case c < 0x20:
			buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			buf = append(buf, c)
		}
	}
	return append(buf, '"')
}

// wire types mirror the canonical encoding for decoding.
type wireEntry struct {
	Action   string            `json:"action"`
	Actor    wireActor         `json:"actor"`
	Decision string            `json:"decision"`
	Detail   map[string]string `json:"detail"`
	Object   wireObject        `json:"object"`
	Purpose  string            `json:"purpose"`
	Seq      *int64            `json:"seq"`
	Time     string            `json:"time"`
	V        int               `json:"v"`
}

type wireActor struct {
	Area   string `json:"area"`
	Dept   string `json:"dept"`
	Device string `json:"device"`
	ID     int64  `json:"id"`
	Role   string `json:"role"`
	User   string `json:"user"`
}

type wireObject struct {
	Columns  []string `json:"columns"`
	Dataset  string   `json:"dataset"`
	RowCount int64    `json:"row_count"`
	Rows     []string `json:"rows"`
	Table    string   `json:"table"`
}

// ParseEntry decodes the canonical bytes of an entry. It refuses anything that is not exactly
// the canonical encoding of the entry it describes (unknown keys, other key order, white space,
// needless escapes), so one entry has one byte form and one leaf hash.
func ParseEntry(data []byte) (Entry, error) {
	if len(data) > MaxEntryBytes {
		return Entry{}, citybrain.Errorf(citybrain.ETOOLARGE, "审计记录过大 (entry over %d bytes)", MaxEntryBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var w wireEntry
	if err := dec.Decode(&w); err != nil {
		return Entry{}, citybrain.Errorf(citybrain.EINVALID, "审计记录无法解析 (malformed entry): %v", err)
	}
	if dec.More() {
		return Entry{}, citybrain.Errorf(citybrain.EINVALID, "审计记录后有多余内容 (trailing data after entry)")
	}
	if w.V != formatVersion {
		return Entry{}, citybrain.Errorf(citybrain.EINVALID, "审计记录版本不支持 (unsupported entry version %d)", w.V)
	}
	if w.Seq == nil {
		return Entry{}, citybrain.Errorf(citybrain.EINVALID, "审计记录缺少序号 (entry without seq)")
	}
	t, err := time.Parse(time.RFC3339Nano, w.Time)
	if err != nil {
		return Entry{}, citybrain.Errorf(citybrain.EINVALID, "审计记录时间无效 (bad time %q)", w.Time)
	}
	e := Entry{
		Seq:      *w.Seq,
		Time:     t.UTC(),
		Actor:    Actor{UserID: w.Actor.ID, Username: w.Actor.User, Role: w.Actor.Role, Dept: w.Actor.Dept, Area: w.Actor.Area, Device: w.Actor.Device},
		Action:   w.Action,
		Object:   Object{Dataset: w.Object.Dataset, Table: w.Object.Table, Rows: w.Object.Rows, RowCount: w.Object.RowCount, Columns: w.Object.Columns},
		Decision: w.Decision,
		Purpose:  w.Purpose,
		Detail:   w.Detail,
	}
	if !bytes.Equal(e.AppendCanonical(nil), data) {
		return Entry{}, citybrain.Errorf(citybrain.EINVALID, "审计记录不是规范编码 (entry is not in canonical form)")
	}
	return e, nil
}

// seqOf extracts the top-level "seq" of canonical entry bytes without decoding the whole entry.
// The top-level key is the last `"seq":` in the bytes: keys are sorted, only "time" and "v"
// follow it, and a '"' inside a string is always escaped.
func seqOf(data []byte) (int64, bool) {
	i := bytes.LastIndex(data, []byte(`"seq":`))
	if i < 0 {
		return 0, false
	}
	rest := data[i+6:]
	j := bytes.IndexByte(rest, ',')
	if j < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	return n, err == nil
}

// String gives a one-line human summary of the entry, for logs and the CLI.
func (e *Entry) String() string {
	return fmt.Sprintf("#%d %s %s(%d) %s %s/%s %s", e.Seq, e.Time.Format(time.RFC3339), e.Actor.Username, e.Actor.UserID,
		e.Action, e.Object.Dataset, e.Object.Table, e.Decision)
}
