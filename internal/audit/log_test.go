package audit

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/citybrain/citybrain"
)

// stepClock advances one second per call, so entry times are distinct and ordered.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func testKeys(t testing.TB) Keys {
	t.Helper()
	k, _, err := GenerateKeys(nil, "test-audit")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func openLog(t testing.TB, s Store, k Keys) *Log {
	t.Helper()
	c := &stepClock{t: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	l, err := Open(context.Background(), Config{Store: s, Keys: k, Now: c.now, CheckpointEvery: -1, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	return l
}

func sampleEntry(i int) Entry {
	return Entry{
		Actor:    Actor{UserID: int64(i%5 + 1), Username: fmt.Sprintf("user%d", i%5+1), Role: citybrain.RoleDept, Dept: "民政局"},
		Action:   []string{ActionRead, ActionMask, ActionDeny, ActionChange}[i%4],
		Object:   Object{Dataset: []string{"residents", "workorders"}[i%2], Table: "t", Rows: []string{fmt.Sprint(i)}, Columns: []string{"身份证号", "手机"}},
		Decision: "MASKED",
		Purpose:  "养老服务核查",
		Detail:   map[string]string{"i": fmt.Sprint(i)},
	}
}

// buildLog records n entries (in checkpoints at the given sizes) and returns the store and key.
func buildLog(t testing.TB, n int, checkpointsAt ...int) (*MemStore, Keys) {
	t.Helper()
	s, k := NewMemStore(), testKeys(t)
	l := openLog(t, s, k)
	ctx := context.Background()
	next := 0
	for _, at := range append(checkpointsAt, n) {
		for ; next < at; next++ {
			if _, err := l.Record(ctx, sampleEntry(next)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := l.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return s, k
}

func TestRecordConcurrentAndVerify(t *testing.T) {
	s, k := NewMemStore(), testKeys(t)
	l := openLog(t, s, k)
	ctx := citybrain.WithActor(context.Background(), &citybrain.Actor{UserID: 9, Username: "auditor1", Role: citybrain.RoleAuditor, Purpose: "例行检查"})
	const workers, each = 16, 50
	seqs := make(chan int64, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				seq, err := l.Record(ctx, Entry{Action: ActionRead, Object: Object{Dataset: "d", Rows: []string{fmt.Sprint(w*each + i)}}})
				if err != nil {
					t.Error(err)
					return
				}
				seqs <- seq
			}
		}()
	}
	wg.Wait()
	close(seqs)
	var got []int64
	for s := range seqs {
		got = append(got, s)
	}
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	for i, s := range got {
		if s != int64(i) {
			t.Fatalf("sequence numbers not dense: position %d has %d", i, s)
		}
	}
	e, err := l.Get(ctx, 17)
	if err != nil {
		t.Fatal(err)
	}
	if e.Actor.Username != "auditor1" || e.Purpose != "例行检查" || e.Seq != 17 {
		t.Fatalf("actor or purpose not taken from context: %+v", e)
	}
	c, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Size != workers*each {
		t.Fatalf("checkpoint size %d", c.Size)
	}
	rep, err := Verify(ctx, s, VerifyOptions{Verifier: k.Verifier, Chunk: 37})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if rep.Size != workers*each || rep.Signed.N != workers*each || rep.Root != c.Root || rep.FirstBad != -1 || rep.Unsigned != 0 {
		t.Fatalf("report %+v", rep)
	}
}

// tamper describes one way of editing the store behind the log's back.
type tamper struct {
	name    string
	edit    func(s *MemStore)
	first   int64 // the first bad entry Verify must name
	end     int64 // for inexact findings, the end of the range Verify must give
	exact   bool
	kind    string
	withSig bool // a checkpoint signature problem is expected instead of an entry
}

func resort(s *MemStore) {
	sort.SliceStable(s.recs, func(i, j int) bool { return s.recs[i].Seq < s.recs[j].Seq })
}

func TestVerifyCatchesTampering(t *testing.T) {
	const n = 200
	tests := []tamper{
		{name: "changed: one byte of entry 57", first: 57, exact: true, kind: ProblemChanged, edit: func(s *MemStore) {
			d := s.recs[57].Data
			i := bytes.Index(d, []byte("养老"))
			d[i+3] ^= 1 // still the same length; now not the stored leaf
		}},
		{name: "changed: purpose rewritten, canonical form kept", first: 123, exact: true, kind: ProblemChanged, edit: func(s *MemStore) {
			e, _ := ParseEntry(s.recs[123].Data)
			e.Purpose = "无"
			s.recs[123].Data = e.AppendCanonical(nil)
		}},
		{name: "removed: entry 80 deleted", first: 80, exact: true, kind: ProblemMissing, edit: func(s *MemStore) {
			s.recs = append(s.recs[:80], s.recs[81:]...)
		}},
		{name: "removed: last 20 entries (truncation below the checkpoint)", first: 180, exact: true, kind: ProblemMissing, edit: func(s *MemStore) {
			s.recs = s.recs[:180]
		}},
		{name: "inserted: forged entry at 33, later ones renumbered", first: 33, exact: true, edit: func(s *MemStore) {
			forged := sampleEntry(999)
			forged.Seq = 33
			forged.Time = time.Date(2026, 11, 1, 0, 0, 33, 500, time.UTC)
			for i := 33; i < len(s.recs); i++ {
				s.recs[i].Seq++
			}
			s.recs = append(s.recs, Record{Seq: 33, Data: forged.AppendCanonical(nil), Hashes: s.recs[33].Hashes})
			resort(s)
		}},
		{name: "inserted: forged entry renumbered and re-hashed consistently", first: 0, end: 50, exact: false, kind: ProblemRoot, edit: func(s *MemStore) {
			// A careful forger rewrites records and all stored hashes from 33 on.
			forged := sampleEntry(999)
			forged.Seq = 33
			var recs []Record
			for _, r := range s.recs {
				e, _ := ParseEntry(r.Data)
				if e.Seq >= 33 {
					e.Seq++
				}
				recs = append(recs, Record{Seq: e.Seq, Entry: e})
			}
			recs = append(recs, Record{Seq: 33, Entry: forged})
			sort.Slice(recs, func(i, j int) bool { return recs[i].Seq < recs[j].Seq })
			var fr frontier
			for i := range recs {
				recs[i].Data = recs[i].Entry.AppendCanonical(nil)
				recs[i].Hashes, _ = fr.add(tlog.RecordHash(recs[i].Data))
			}
			s.recs = recs
		}},
		{name: "reordered: entries 10 and 150 swapped", first: 10, exact: true, kind: ProblemMoved, edit: func(s *MemStore) {
			s.recs[10].Seq, s.recs[150].Seq = 150, 10
			resort(s)
		}},
		{name: "reordered: contents of 90 and 91 swapped, hashes kept", first: 90, exact: true, kind: ProblemMoved, edit: func(s *MemStore) {
			s.recs[90].Data, s.recs[91].Data = s.recs[91].Data, s.recs[90].Data
		}},
		{name: "changed with its stored leaf hash rewritten", first: 70, end: 72, exact: false, edit: func(s *MemStore) {
			e, _ := ParseEntry(s.recs[70].Data)
			e.Decision = "FULL"
			s.recs[70].Data = e.AppendCanonical(nil)
			s.recs[70].Hashes[0] = tlog.RecordHash(s.recs[70].Data)
		}},
		{name: "stored interior hash corrupted", first: 0, end: 128, exact: false, kind: ProblemHash, edit: func(s *MemStore) {
			s.recs[127].Hashes[7][0] ^= 1 // root of entries 0..127
		}},
		{name: "changed after the latest checkpoint (unsigned tail)", first: 205, exact: true, kind: ProblemChanged, edit: func(s *MemStore) {
			s.recs[205].Data[len(s.recs[205].Data)-3] ^= 1
		}},
		{name: "checkpoint signature tampered", first: -1, withSig: true, edit: func(s *MemStore) {
			c := &s.cps[len(s.cps)-1]
			i := bytes.LastIndexByte(c.Note, ' ')
			c.Note[i+5] ^= 1
		}},
		{name: "checkpoint text tampered (root replaced)", first: -1, withSig: true, edit: func(s *MemStore) {
			c := &s.cps[len(s.cps)-1]
			lines := strings.SplitN(string(c.Note), "\n", 4)
			lines[2] = tlog.Hash{1}.String()
			c.Note = []byte(strings.Join(lines, "\n"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, k := buildLog(t, n, 50, 100)
			// An unsigned tail after the last checkpoint, for the tail case.
			if strings.Contains(tt.name, "tail") {
				l := openLog(t, s, k)
				for i := range 10 {
					if _, err := l.Record(context.Background(), sampleEntry(n+i)); err != nil {
						t.Fatal(err)
					}
				}
				l.closeM.Lock() // stop without the final checkpoint: simulate a crash
				l.closed = true
				close(l.queue)
				l.closeM.Unlock()
				<-l.done
				s.cps = s.cps[:len(s.cps)-1]
			}
			if rep, err := Verify(context.Background(), s, VerifyOptions{Verifier: k.Verifier}); err != nil {
				t.Fatalf("untouched log fails: %v %+v", err, rep.Problems)
			}
			tt.edit(s)
			rep, err := Verify(context.Background(), s, VerifyOptions{Verifier: k.Verifier, Chunk: 16})
			var te *TamperError
			if !errors.As(err, &te) {
				t.Fatalf("tampering not caught: err=%v report=%+v", err, rep)
			}
			if tt.withSig {
				if rep.Problems[0].Kind != ProblemSignature {
					t.Fatalf("want a signature problem, got %+v", rep.Problems)
				}
				return
			}
			if rep.FirstBad != tt.first || rep.Exact != tt.exact {
				t.Fatalf("first bad = %d exact=%v, want %d exact=%v; problems %+v", rep.FirstBad, rep.Exact, tt.first, tt.exact, rep.Problems)
			}
			if !tt.exact && rep.FirstBadEnd != tt.end {
				t.Fatalf("range %d..%d, want end %d", rep.FirstBad, rep.FirstBadEnd, tt.end)
			}
			if tt.kind != "" && te.Report.firstProblem().Kind != tt.kind {
				t.Fatalf("kind %q, want %q (%+v)", te.Report.firstProblem().Kind, tt.kind, rep.Problems)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("first bad entry %d", tt.first)) {
				t.Fatalf("error does not name entry %d: %v", tt.first, err)
			}
		})
	}
}

func TestVerifyTrustedCheckpointCatchesRollback(t *testing.T) {
	s, k := buildLog(t, 100, 60)
	cps, _ := s.AuditCheckpoints(context.Background())
	held := cps[len(cps)-1].Note // an auditor kept the checkpoint of size 100
	// Roll back: drop the last 40 entries and the checkpoint that signed them.
	s.recs = s.recs[:60]
	s.cps = s.cps[:len(s.cps)-1]
	if _, err := Verify(context.Background(), s, VerifyOptions{Verifier: k.Verifier}); err != nil {
		t.Fatalf("without the held checkpoint the rollback is invisible, got %v", err)
	}
	rep, err := Verify(context.Background(), s, VerifyOptions{Verifier: k.Verifier, Trusted: [][]byte{held}})
	if err == nil || rep.FirstBad != 60 {
		t.Fatalf("rollback not caught: %v %+v", err, rep)
	}
}

func TestVerifyWrongKeyAndNoCheckpoint(t *testing.T) {
	s, _ := buildLog(t, 10)
	if _, err := Verify(context.Background(), s, VerifyOptions{Verifier: testKeys(t).Verifier}); err == nil {
		t.Fatal("verified with a foreign key")
	}
	s.cps = nil
	_, err := Verify(context.Background(), s, VerifyOptions{Verifier: testKeys(t).Verifier})
	if err == nil || !strings.Contains(err.Error(), ProblemNoCheckpoint) {
		t.Fatalf("want no_checkpoint, got %v", err)
	}
}

func TestOpenRefusesDamagedLog(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		edit func(s *MemStore)
		keys func(k Keys) Keys
	}{
		{name: "stored subtree hash under the checkpoint changed", edit: func(s *MemStore) { s.recs[15].Hashes[4][5] ^= 1 }},
		{name: "checkpoints deleted", edit: func(s *MemStore) { s.cps = nil }},
		{name: "entries truncated below the checkpoint", edit: func(s *MemStore) { s.recs = s.recs[:5] }},
		{name: "another key", keys: func(Keys) Keys { return testKeys(t) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, k := buildLog(t, 20)
			if tt.edit != nil {
				tt.edit(s)
			}
			if tt.keys != nil {
				k = tt.keys(k)
			}
			_, err := Open(ctx, Config{Store: s, Keys: k})
			if citybrain.ErrorCode(err) != citybrain.ECONFLICT {
				t.Fatalf("Open = %v, want ECONFLICT", err)
			}
		})
	}
	if _, err := Open(ctx, Config{Store: NewMemStore(), Keys: testKeys(t), Retention: 90 * 24 * time.Hour}); citybrain.ErrorCode(err) != citybrain.EINVALID {
		t.Fatalf("retention of 90 days accepted: %v", err)
	}
}

func TestReopenContinues(t *testing.T) {
	s, k := buildLog(t, 37)
	l := openLog(t, s, k)
	for i := range 30 {
		if seq, err := l.Record(context.Background(), sampleEntry(i)); err != nil || seq != int64(37+i) {
			t.Fatalf("seq %d err %v", seq, err)
		}
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(context.Background(), s, VerifyOptions{Verifier: k.Verifier})
	if err != nil || rep.Signed.N != 67 {
		t.Fatalf("%v %+v", err, rep)
	}
	if _, err := l.Record(context.Background(), sampleEntry(1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("record after close: %v", err)
	}
}

func TestInclusionProofs(t *testing.T) {
	s, k := buildLog(t, 45, 20)
	l := openLog(t, s, k)
	ctx := context.Background()
	if _, err := l.Record(ctx, sampleEntry(45)); err != nil { // newer than the latest checkpoint
		t.Fatal(err)
	}
	for _, seq := range []int64{0, 1, 19, 20, 44, 45} {
		p, err := l.Prove(ctx, seq)
		if err != nil {
			t.Fatalf("prove %d: %v", seq, err)
		}
		b, _ := json.Marshal(p)
		var back InclusionProof
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if err := VerifyInclusion(back, k.Verifier); err != nil {
			t.Fatalf("verify proof %d: %v", seq, err)
		}
		bad := []func(p *InclusionProof){
			func(p *InclusionProof) {
				p.Data = strings.Replace(p.Data, "养老", "养牛", 1)
				p.LeafHash = tlog.RecordHash([]byte(p.Data))
			},
			func(p *InclusionProof) { p.Seq++ },
			func(p *InclusionProof) { p.Root[0] ^= 1 },
			func(p *InclusionProof) {
				if len(p.Proof) > 0 {
					p.Proof[0][0] ^= 1
				} else {
					p.Proof = append(p.Proof, tlog.Hash{})
				}
			},
		}
		for i, f := range bad {
			c := back
			c.Proof = append([]tlog.Hash(nil), back.Proof...)
			f(&c)
			if err := VerifyInclusion(c, k.Verifier); err == nil {
				t.Errorf("proof %d: forged variant %d accepted", seq, i)
			}
		}
		if err := VerifyInclusion(back, testKeys(t).Verifier); err == nil {
			t.Errorf("proof %d accepted under another key", seq)
		}
	}
	if _, err := l.Prove(ctx, 46); citybrain.ErrorCode(err) != citybrain.ENOTFOUND {
		t.Fatalf("prove beyond the log: %v", err)
	}
}

func TestConsistencyBetweenCheckpoints(t *testing.T) {
	s, k := buildLog(t, 100, 10, 37)
	l := openLog(t, s, k)
	cps, _ := s.AuditCheckpoints(context.Background())
	var sizes []int64
	for _, c := range cps {
		sizes = append(sizes, c.Size)
	}
	if fmt.Sprint(sizes) != "[0 10 37 100]" {
		t.Fatalf("checkpoint sizes %v", sizes)
	}
	for _, old := range cps[1:] {
		p, err := l.ProveConsistency(context.Background(), old.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyConsistency(p, old.Note, k.Verifier); err != nil {
			t.Fatalf("consistency %d→%d: %v", old.Size, p.NewSize, err)
		}
		if old.Size < p.NewSize {
			p.Proof[0][3] ^= 1
			if err := VerifyConsistency(p, old.Note, k.Verifier); err == nil {
				t.Fatalf("forged consistency proof from %d accepted", old.Size)
			}
		}
	}
	// A checkpoint for a different history (a fork) of size 37 must not check out.
	fork, err := SignCheckpoint(k.Signer, tlog.Tree{N: 37, Hash: tlog.Hash{9}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := l.ProveConsistency(context.Background(), 37)
	if err := VerifyConsistency(p, fork.Note, k.Verifier); err == nil {
		t.Fatal("consistency with a forked checkpoint accepted")
	}
	s.cps = append(s.cps, fork)
	sort.SliceStable(s.cps, func(i, j int) bool { return s.cps[i].Size < s.cps[j].Size })
	if _, err := Verify(context.Background(), s, VerifyOptions{Verifier: k.Verifier}); err == nil || !strings.Contains(err.Error(), ProblemFork) {
		t.Fatalf("forked checkpoint not reported: %v", err)
	}
}

// gatedStore holds AppendAudit until the gate opens, to fill the queue.
type gatedStore struct {
	*MemStore
	gate chan struct{}
}

func (g *gatedStore) AppendAudit(ctx context.Context, recs []Record) error {
	<-g.gate
	return g.MemStore.AppendAudit(ctx, recs)
}

func TestBackpressure(t *testing.T) {
	g := &gatedStore{MemStore: NewMemStore(), gate: make(chan struct{})}
	k := testKeys(t)
	l, err := Open(context.Background(), Config{Store: g, Keys: k, QueueSize: 2, MaxBatch: 1, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 3 { // one held in AppendAudit, two in the queue
		wg.Add(1)
		go func() { defer wg.Done(); l.Record(context.Background(), sampleEntry(i)) }()
	}
	// Wait until the queue is full.
	for len(l.queue) < 2 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := l.Record(ctx, sampleEntry(9)); citybrain.ErrorCode(err) != citybrain.ETOOMANY {
		t.Fatalf("full queue: %v, want ETOOMANY", err)
	}
	close(g.gate)
	wg.Wait()
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, _ := g.AuditSize(context.Background()); n != 3 {
		t.Fatalf("size %d", n)
	}
}

func TestSearchAndExport(t *testing.T) {
	s, k := buildLog(t, 250)
	l := openLog(t, s, k)
	ctx := citybrain.WithActor(context.Background(), &citybrain.Actor{UserID: 99, Username: "审计员", Role: citybrain.RoleAuditor})
	// Paging: user2 did entries 1, 6, 11, ... (50 of them).
	var seen []int64
	q := Query{ActorID: 2, Limit: 7}
	for {
		p, err := l.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Entries {
			if e.Actor.UserID != 2 {
				t.Fatalf("filter leaked %+v", e)
			}
			seen = append(seen, e.Seq)
		}
		if p.Next == 0 {
			break
		}
		q.Before = p.Next
	}
	if len(seen) != 50 || seen[0] != 246 || seen[49] != 1 {
		t.Fatalf("paged %d entries: %v", len(seen), seen)
	}
	from := time.Date(2026, 11, 1, 0, 0, 11, 0, time.UTC) // entry i was stamped at second i+2
	p, err := l.Search(ctx, Query{Action: ActionMask, Dataset: "workorders", From: from, To: from.Add(20 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, e := range p.Entries {
		got = append(got, e.Seq)
	}
	if fmt.Sprint(got) != "[25 21 17 13 9]" {
		t.Fatalf("search by action, dataset and time = %v", got)
	}
	// A tampered search column cannot show a wrong entry.
	s.recs[3].Entry.Actor.UserID = 2
	p, _ = l.Search(ctx, Query{ActorID: 2, Before: 5})
	if len(p.Entries) != 1 || p.Entries[0].Seq != 1 {
		t.Fatalf("tampered column leaked: %+v", p.Entries)
	}

	var buf bytes.Buffer
	n, err := l.Export(ctx, Query{Dataset: "residents"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != 125 {
		t.Fatalf("exported %d rows", n)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 126 || rows[0][0] != "序号 seq" || rows[1][0] != "248" || rows[1][15] != "养老服务核查" {
		t.Fatalf("csv head %v / %v", rows[0], rows[1])
	}
	last, err := l.Get(ctx, l.Size()-1)
	if err != nil {
		t.Fatal(err)
	}
	if last.Action != ActionExport || last.Actor.Username != "审计员" || !strings.Contains(last.Detail["query"], `dataset="residents"`) {
		t.Fatalf("export not audited: %+v", last)
	}
}

func TestCSVInjection(t *testing.T) {
	row := csvRow(&Entry{Action: "read", Purpose: "=HYPERLINK(\"x\")", Actor: Actor{Username: "@x"}})
	if row[15] != "'=HYPERLINK(\"x\")" || row[3] != "'@x" {
		t.Fatalf("formula cells not neutralised: %q", row)
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "audit.key")
	k1, err := LoadOrCreateKey(path, "")
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateKey(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if k1.VerifierKey != k2.VerifierKey {
		t.Fatal("key changed on reload")
	}
	v, err := ReadVerifierKey(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	c, err := SignCheckpoint(k2.Signer, tlog.Tree{N: 1, Hash: tlog.RecordHash(nil)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenCheckpoint(c.Note, v); err != nil {
		t.Fatalf("public key file does not verify: %v", err)
	}
}

func TestRetentionExpired(t *testing.T) {
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	if RetentionExpired(now.AddDate(0, -5, 0), now, 0) {
		t.Fatal("5-month-old entry expired")
	}
	if !RetentionExpired(now.AddDate(0, -7, 0), now, 0) {
		t.Fatal("7-month-old entry kept forever under the default")
	}
	if RetentionExpired(now.AddDate(0, -7, 0), now, 365*24*time.Hour) {
		t.Fatal("configured 1-year retention ignored")
	}
}

func TestPeriodicCheckpoints(t *testing.T) {
	s, k := NewMemStore(), testKeys(t)
	l, err := Open(context.Background(), Config{Store: s, Keys: k, CheckpointEvery: 10, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		if _, err := l.Record(context.Background(), sampleEntry(i)); err != nil {
			t.Fatal(err)
		}
	}
	cps, _ := s.AuditCheckpoints(context.Background())
	var sizes []int64
	for _, c := range cps {
		sizes = append(sizes, c.Size)
	}
	if fmt.Sprint(sizes) != "[0 10 20]" {
		t.Fatalf("checkpoints by count at %v", sizes)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.LatestAuditCheckpoint(context.Background()); c.Size != 25 {
		t.Fatalf("no final checkpoint on Close: %d", c.Size)
	}

	// By time: a short interval signs the new entry without being asked.
	l, err = Open(context.Background(), Config{Store: s, Keys: k, CheckpointEvery: -1, CheckpointInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	if _, err := l.Record(context.Background(), sampleEntry(25)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, _ := l.Latest(); c.Size == 26 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint by interval")
		}
		time.Sleep(time.Millisecond)
	}
}

// ambiguousStore commits a batch but reports failure once, as a lost commit acknowledgement would.
type ambiguousStore struct {
	*MemStore
	failed bool
}

func (a *ambiguousStore) AppendAudit(ctx context.Context, recs []Record) error {
	if err := a.MemStore.AppendAudit(ctx, recs); err != nil {
		return err
	}
	if !a.failed {
		a.failed = true
		return errors.New("connection reset after commit")
	}
	return nil
}

func TestAppendErrorResyncs(t *testing.T) {
	s := &ambiguousStore{MemStore: NewMemStore()}
	k := testKeys(t)
	l := openLog(t, s, k)
	ctx := context.Background()
	if _, err := l.Record(ctx, sampleEntry(0)); err == nil {
		t.Fatal("error not reported")
	}
	seq, err := l.Record(ctx, sampleEntry(1))
	if err != nil || seq != 1 {
		t.Fatalf("after an ambiguous failure: seq %d, %v", seq, err)
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(ctx, s, VerifyOptions{Verifier: k.Verifier}); err != nil {
		t.Fatal(err)
	}
}

// TestTwoWritersShareAStore runs two Logs (two nodes with the same key) on one store: each
// renumbers its batch when the other appended first, and the log stays verifiable.
func TestTwoWritersShareAStore(t *testing.T) {
	s, k := NewMemStore(), testKeys(t)
	a := openLog(t, s, k)
	b := openLog(t, s, k)
	ctx := context.Background()
	var wg sync.WaitGroup
	for w, l := range []*Log{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if _, err := l.Record(ctx, sampleEntry(w*100+i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, l := range []*Log{a, b} {
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := Verify(ctx, s, VerifyOptions{Verifier: k.Verifier})
	if err != nil || rep.Size != 200 {
		t.Fatalf("%v %+v", err, rep)
	}
}
