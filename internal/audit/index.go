package audit

import (
	"bytes"
	"strconv"
	"time"
)

// indexMismatch names the first search column of e (the copies a store keeps of time, actor id,
// username, action and dataset, as read back) that disagrees with the canonical bytes data, or
// returns "" when they agree. It walks the canonical encoding without decoding it (a full
// ParseEntry costs ~20 µs, too much for verifying a million entries); data that is not
// canonical enough to walk is reported as "data" — its leaf hash check names it anyway.
func indexMismatch(data []byte, e *Entry) string {
	var action, actor, object, ts []byte
	if !walkObject(data, func(k, v []byte) {
		switch string(k) {
		case "action":
			action = v
		case "actor":
			actor = v
		case "object":
			object = v
		case "time":
			ts = v
		}
	}) {
		return "data"
	}
	if !equalString(action, e.Action) {
		return "action"
	}
	var id, user []byte
	if !walkObject(actor, func(k, v []byte) {
		switch string(k) {
		case "id":
			id = v
		case "user":
			user = v
		}
	}) {
		return "data"
	}
	if (e.Actor.UserID == 0 && id != nil) || (e.Actor.UserID != 0 && !equalInt(id, e.Actor.UserID)) {
		return "actor_id"
	}
	if (e.Actor.Username == "" && user != nil) || (e.Actor.Username != "" && !equalString(user, e.Actor.Username)) {
		return "username"
	}
	var dataset []byte
	if !walkObject(object, func(k, v []byte) {
		if string(k) == "dataset" {
			dataset = v
		}
	}) {
		return "data"
	}
	if (e.Object.Dataset == "" && dataset != nil) || (e.Object.Dataset != "" && !equalString(dataset, e.Object.Dataset)) {
		return "dataset"
	}
	if len(ts) < 2 {
		return "data"
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts[1:len(ts)-1]))
	if err != nil || t.UnixMilli() != e.Time.UnixMilli() {
		return "at"
	}
	return ""
}

// equalString reports whether raw is s as appendString encodes it, without building it.
func equalString(raw []byte, s string) bool {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return false
	}
	raw = raw[1 : len(raw)-1]
	if len(raw) == len(s) && string(raw) == s { // the common case: nothing escaped
		return true
	}
	var buf [64]byte
	enc := appendString(buf[:0], s)
	return bytes.Equal(enc[1:len(enc)-1], raw)
}

// equalInt reports whether raw is the decimal form of n.
func equalInt(raw []byte, n int64) bool {
	var buf [20]byte
	return bytes.Equal(raw, strconv.AppendInt(buf[:0], n, 10))
}

// walkObject calls visit with each key and raw value of the JSON object b (keys without their
// quotes, values as they stand: strings with quotes and escapes, nested objects and arrays
// whole). It reports false when b is not an object it can walk.
func walkObject(b []byte, visit func(k, v []byte)) bool {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return false
	}
	i := 1
	if b[i] == '}' {
		return i == len(b)-1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		ke := skipString(b, i)
		if ke < 0 || ke >= len(b) || b[ke] != ':' {
			return false
		}
		key := b[i+1 : ke-1]
		vs := ke + 1
		ve := skipValue(b, vs)
		if ve < 0 || ve >= len(b) {
			return false
		}
		visit(key, b[vs:ve])
		switch b[ve] {
		case ',':
			i = ve + 1
		case '}':
			return ve == len(b)-1
		default:
			return false
		}
	}
}

// skipString returns the index just after the JSON string starting at b[i] == '"', or -1.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index just after the JSON value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				k := skipString(b, j)
				if k < 0 {
					return -1
				}
				j = k - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}
