package audit

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/citybrain/citybrain"
)

func TestCanonicalEncoding(t *testing.T) {
	tm := time.Date(2026, 11, 28, 8, 0, 0, 123456000, time.FixedZone("CST", 8*3600))
	tests := []struct {
		name string
		e    Entry
		want string
	}{
		{
			name: "minimal",
			e:    Entry{Seq: 0, Time: tm, Action: ActionChange},
			want: `{"action":"change","actor":{},"object":{},"seq":0,"time":"2026-11-28T00:00:00.123456Z","v":1}`,
		},
		{
			name: "full, keys sorted, Chinese kept as UTF-8",
			e: Entry{Seq: 42, Time: tm, Actor: Actor{UserID: 7, Username: "张三", Role: "dept", Dept: "民政局", Area: "A01"},
				Action: ActionMask, Object: Object{Dataset: "居民", Table: "residents", Rows: []string{"3", "1"}, Columns: []string{"身份证号", "手机"}},
				Decision: "MASKED", Purpose: "养老服务核查", Detail: map[string]string{"z": "1", "a": "2", "grant": "g-9"}},
			want: `{"action":"mask","actor":{"area":"A01","dept":"民政局","id":7,"role":"dept","user":"张三"},"decision":"MASKED",` +
				`"detail":{"a":"2","grant":"g-9","z":"1"},"object":{"columns":["身份证号","手机"],"dataset":"居民","row_count":2,"rows":["3","1"],"table":"residents"},` +
				`"purpose":"养老服务核查","seq":42,"time":"2026-11-28T00:00:00.123456Z","v":1}`,
		},
		{
			name: "escapes only quote, backslash and control characters",
			e:    Entry{Seq: 1, Time: tm, Action: "read", Purpose: "a\"b\\c\nd\x01e<&>\u2028"},
			want: `{"action":"read","actor":{},"object":{},"purpose":"a\"b\\c\nd\u0001e<&>` + "\u2028" + `","seq":1,"time":"2026-11-28T00:00:00.123456Z","v":1}`,
		},
		{
			name: "invalid UTF-8 replaced",
			e:    Entry{Seq: 2, Time: tm, Action: "read", Purpose: "x\xffy"},
			want: `{"action":"read","actor":{},"object":{},"purpose":"x` + "\uFFFD" + `y","seq":2,"time":"2026-11-28T00:00:00.123456Z","v":1}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			if err := e.normalize(); err != nil {
				t.Fatal(err)
			}
			got := string(e.AppendCanonical(nil))
			if got != tt.want {
				t.Fatalf("encoding\n got %s\nwant %s", got, tt.want)
			}
			// Map iteration order must not matter.
			for range 20 {
				if again := string(e.AppendCanonical(nil)); again != got {
					t.Fatalf("encoding not deterministic: %s", again)
				}
			}
			back, err := ParseEntry([]byte(got))
			if err != nil {
				t.Fatalf("ParseEntry: %v", err)
			}
			if s := string(back.AppendCanonical(nil)); s != got {
				t.Fatalf("round trip changed bytes: %s", s)
			}
			if s, ok := seqOf([]byte(got)); !ok || s != e.Seq {
				t.Fatalf("seqOf = %d %v, want %d", s, ok, e.Seq)
			}
		})
	}
}

func TestParseEntryRejectsNonCanonical(t *testing.T) {
	good := `{"action":"read","actor":{},"object":{},"seq":3,"time":"2026-11-28T00:00:00Z","v":1}`
	if _, err := ParseEntry([]byte(good)); err != nil {
		t.Fatalf("good entry refused: %v", err)
	}
	bad := []string{
		`{"actor":{},"action":"read","object":{},"seq":3,"time":"2026-11-28T00:00:00Z","v":1}`,              // key order
		`{"action":"read", "actor":{},"object":{},"seq":3,"time":"2026-11-28T00:00:00Z","v":1}`,             // white space
		`{"action":"\u0072ead","actor":{},"object":{},"seq":3,"time":"2026-11-28T00:00:00Z","v":1}`,         // needless escape
		`{"action":"read","actor":{},"object":{},"seq":3,"time":"2026-11-28T08:00:00+08:00","v":1}`,         // not UTC
		`{"action":"read","actor":{},"object":{},"seq":3,"time":"2026-11-28T00:00:00Z","v":1,"x":1}`,        // unknown key
		`{"action":"read","actor":{},"object":{"rows":[]},"seq":3,"time":"2026-11-28T00:00:00Z","v":1}`,     // empty list kept
		`{"action":"read","actor":{},"object":{},"seq":3,"time":"2026-11-28T00:00:00Z","v":2}`,              // version
		`{"action":"read","actor":{},"object":{},"time":"2026-11-28T00:00:00Z","v":1}`,                      // no seq
		`{"action":"read","actor":{},"object":{},"seq":3,"time":"2026-11-28T00:00:00Z","v":1}{}`,            // trailing
		`{"Action":"read","actor":{},"object":{},"seq":3,"time":"2026-11-28T00:00:00Z","v":1}`,              // key case
		`{"action":"read","action":"x","actor":{},"object":{},"seq":3,"time":"2026-11-28T00:00:00Z","v":1}`, // duplicate key
	}
	for _, b := range bad {
		if _, err := ParseEntry([]byte(b)); err == nil {
			t.Errorf("ParseEntry accepted non-canonical %s", b)
		}
	}
}

func TestNormalize(t *testing.T) {
	rows := make([]string, MaxRows+5)
	for i := range rows {
		rows[i] = "r"
	}
	e := Entry{Action: "read", Object: Object{Rows: rows}}
	if err := e.normalize(); err != nil {
		t.Fatal(err)
	}
	if len(e.Object.Rows) != MaxRows || e.Object.RowCount != MaxRows+5 {
		t.Fatalf("rows %d count %d", len(e.Object.Rows), e.Object.RowCount)
	}
	for _, bad := range []Entry{{}, {Action: "  "}, {Action: strings.Repeat("读", 65)}} {
		if err := bad.normalize(); err == nil {
			t.Errorf("normalize accepted %+v", bad)
		}
	}
}

// FuzzParseEntry checks that the decoder of stored (possibly tampered) bytes never panics and
// that whatever it accepts re-encodes to exactly the same bytes.
func FuzzParseEntry(f *testing.F) {
	f.Add([]byte(`{"action":"read","actor":{},"object":{},"seq":3,"time":"2026-11-28T00:00:00Z","v":1}`))
	f.Add([]byte(`{"action":"mask","actor":{"area":"A01","dept":"民政局","id":7,"role":"dept","user":"张三"},"decision":"MASKED","detail":{"a":"2"},"object":{"columns":["身份证号"],"dataset":"居民","row_count":2,"rows":["3","1"],"table":"residents"},"purpose":"核查","seq":42,"time":"2026-11-28T00:00:00.123456Z","v":1}`))
	f.Add([]byte(`{"seq":`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEntry(data)
		if err != nil {
			return
		}
		if got := e.AppendCanonical(nil); string(got) != string(data) {
			t.Fatalf("accepted %q but re-encodes to %q", data, got)
		}
		if s, ok := seqOf(data); !ok || s != e.Seq {
			t.Fatalf("seqOf(%q) = %d %v, want %d", data, s, ok, e.Seq)
		}
	})
}

// TestRFC6962Vectors checks the tree arithmetic against the published Certificate Transparency
// vectors (the same inputs as RFC 6962 test data), through the frontier used by Log and Verify.
func TestRFC6962Vectors(t *testing.T) {
	inputs := []string{"", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"}
	roots := []string{
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	}
	var fr frontier
	var all []tlog.Hash
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = all[x]
		}
		return out, nil
	})
	for n := 0; n <= len(inputs); n++ {
		if n > 0 {
			b, _ := hex.DecodeString(inputs[n-1])
			hs, err := fr.add(tlog.RecordHash(b))
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, hs...)
		}
		root, err := fr.root()
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(root[:]); got != roots[n] {
			t.Errorf("root of %d leaves = %s, want %s", n, got, roots[n])
		}
	}
	// Published audit path of leaf 0 in the tree of 8.
	p, err := tlog.ProveRecord(8, 0, reader)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}
	for i := range want {
		if i >= len(p) || hex.EncodeToString(p[i][:]) != want[i] {
			t.Fatalf("path of leaf 0 in 8 = %v, want %v", p, want)
		}
	}
}

// TestFrontierMatchesTlog compares the frontier's stored hashes and roots with tlog computing
// over a full hash store, for every size up to 300.
func TestFrontierMatchesTlog(t *testing.T) {
	var fr frontier
	var all []tlog.Hash
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = all[x]
		}
		return out, nil
	})
	for n := int64(0); n < 300; n++ {
		data := []byte{byte(n), byte(n >> 8)}
		want, err := tlog.StoredHashes(n, data, reader)
		if err != nil {
			t.Fatal(err)
		}
		got, err := fr.add(tlog.RecordHash(data))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("record %d: %d hashes, want %d", n, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("record %d hash %d differs", n, i)
			}
		}
		all = append(all, want...)
		wantRoot, _ := tlog.TreeHash(n+1, reader)
		if r, _ := fr.root(); r != wantRoot {
			t.Fatalf("root of %d differs", n+1)
		}
		loaded, err := loadFrontier(n+1, reader)
		if err != nil {
			t.Fatal(err)
		}
		if r, _ := loaded.root(); r != wantRoot {
			t.Fatalf("loaded root of %d differs", n+1)
		}
		for i := range want {
			seq, k := HashLocation(tlog.StoredHashIndex(0, n) + int64(i))
			if seq != n || k != i {
				t.Fatalf("HashLocation(record %d hash %d) = %d,%d", n, i, seq, k)
			}
		}
	}
}

func TestDecisionAction(t *testing.T) {
	for d, want := range map[string]string{"FULL": ActionRead, "MASKED": ActionMask, "AGGREGATE_ONLY": ActionMask, "DENY": ActionDeny, "deny": ActionDeny, "": ActionRead} {
		if got := DecisionAction(d); got != want {
			t.Errorf("DecisionAction(%q) = %q, want %q", d, got, want)
		}
	}
}

func TestOversizedEntryRefused(t *testing.T) {
	s, k := NewMemStore(), testKeys(t)
	l := openLog(t, s, k)
	_, err := l.Record(context.Background(), Entry{Action: "read", Purpose: strings.Repeat("长", MaxEntryBytes/3)})
	if citybrain.ErrorCode(err) != citybrain.ETOOLARGE {
		t.Fatalf("oversized entry: %v", err)
	}
	if _, err := l.Record(context.Background(), Entry{Action: "read", Purpose: strings.Repeat("长", 1000)}); err != nil {
		t.Fatal(err)
	}
}
