package audit

import (
	"testing"
	"time"
)

// indexMismatch must accept every genuine entry, whatever its strings hold, and name the
// search column that was edited.
func TestIndexMismatch(t *testing.T) {
	base := Entry{Seq: 7, Time: time.Date(2026, 11, 28, 8, 0, 0, 123456789, time.UTC), Action: ActionRead,
		Actor:  Actor{UserID: 3, Username: "aud1", Role: "auditor", Area: `a"}{,`, Dept: `民政局\`},
		Object: Object{Dataset: "residents", Rows: []string{"1", `"dataset":"x"`}, Columns: []string{"身份证号", "}"}, Table: "t"},
		Detail: map[string]string{"object": `{"dataset":"evil"}`, "k": `,"object":{"dataset":"x"}`, "time": "2000"}, Decision: "MASKED", Purpose: "核查"}
	genuine := []Entry{base, {Seq: 0, Time: time.Unix(0, 0).UTC(), Action: ActionChange}, {Seq: 1, Time: base.Time, Action: `a"b`,
		Actor: Actor{Username: `u\"}`, Device: "lvl-001"}, Object: Object{Dataset: `d,"x":{`}}}
	for _, e := range genuine {
		data := e.AppendCanonical(nil)
		idx := Entry{Time: e.Time.Truncate(time.Millisecond), Action: e.Action, Actor: Actor{UserID: e.Actor.UserID, Username: e.Actor.Username},
			Object: Object{Dataset: e.Object.Dataset}}
		if col := indexMismatch(data, &idx); col != "" {
			t.Fatalf("genuine entry %s flagged (%s)", data, col)
		}
	}
	data := base.AppendCanonical(nil)
	edits := []struct {
		col  string
		edit func(e *Entry)
	}{
		{"action", func(e *Entry) { e.Action = ActionDeny }},
		{"actor_id", func(e *Entry) { e.Actor.UserID = 4 }},
		{"actor_id", func(e *Entry) { e.Actor.UserID = 0 }},
		{"username", func(e *Entry) { e.Actor.Username = "mallory" }},
		{"username", func(e *Entry) { e.Actor.Username = "" }},
		{"dataset", func(e *Entry) { e.Object.Dataset = "evil" }},
		{"dataset", func(e *Entry) { e.Object.Dataset = "" }},
		{"at", func(e *Entry) { e.Time = e.Time.Add(time.Millisecond) }},
	}
	for _, tc := range edits {
		idx := Entry{Time: base.Time, Action: base.Action, Actor: Actor{UserID: base.Actor.UserID, Username: base.Actor.Username},
			Object: Object{Dataset: base.Object.Dataset}}
		tc.edit(&idx)
		if got := indexMismatch(data, &idx); got != tc.col {
			t.Errorf("edited %s: got %q", tc.col, got)
		}
	}
	for _, bad := range []string{``, `{`, `{"action":`, `[1]`, `{"action":"read","actor":{"id":}}`} {
		idx := base
		if got := indexMismatch([]byte(bad), &idx); got == "" {
			t.Errorf("%q accepted", bad)
		}
	}
}
