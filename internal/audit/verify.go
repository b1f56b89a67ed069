package audit

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/citybrain/citybrain"
)

// Kinds of problem Verify reports.
const (
	ProblemChanged      = "changed"       // an entry's bytes no longer match its stored leaf hash
	ProblemMoved        = "moved"         // an entry sits at a position other than the one it was written at (reordered, or shifted by an insertion or removal)
	ProblemMissing      = "missing"       // entries are absent (deleted, or the log was truncated below a checkpoint)
	ProblemDuplicate    = "duplicate"     // two records claim one position (an inserted record)
	ProblemHash         = "hash"          // a stored interior hash does not match the entries below it
	ProblemRoot         = "root"          // the entries no longer hash to a signed checkpoint's root
	ProblemSignature    = "signature"     // a checkpoint's signature does not verify
	ProblemFork         = "fork"          // two signed checkpoints disagree about the same size
	ProblemNoCheckpoint = "no_checkpoint" // no checkpoint verifies, so nothing authenticates the log
	ProblemIndex        = "index"         // an entry's search columns (time, actor, action, dataset) no longer match its content
)

// maxProblems bounds the problems listed in a Report; FirstBad is exact regardless.
const maxProblems = 100

// maxGap bounds how many missing positions Verify fills in before giving up on a log.
const maxGap = 1 << 24

// VerifyOptions configures Verify.
type VerifyOptions struct {
	// Verifier checks checkpoint signatures (required).
	Verifier note.Verifier
	// Trusted are checkpoint notes kept outside the store (by an auditor or witness); they are
	// checked like stored ones, so a log cut back together with its checkpoint table is caught.
	Trusted [][]byte
	// Chunk is how many records are read at a time (default 4096).
	Chunk int
	// Progress, when set, is called after each chunk with entries done and the total.
	Progress func(done, total int64)
}

// Problem is one finding of Verify.
type Problem struct {
	Kind string
	// Entry is the first entry concerned, -1 when the problem is not about entries.
	Entry int64
	// End is the exclusive end of the range certain to contain the bad entry; Entry+1 when the
	// entry is named exactly.
	End     int64
	Message string
}

// Report is the outcome of Verify.
type Report struct {
	Size int64     // entries read (positions, including missing ones)
	Root tlog.Hash // root recomputed from the entries
	// Signed is the latest checkpoint whose signature verified; Signed.N entries are
	// authenticated by it when the report is OK.
	Signed     tlog.Tree
	SignedTime time.Time
	// Checkpoints is how many checkpoints verified (stored and trusted).
	Checkpoints int
	// Unsigned is the number of entries after Signed.N, checked against stored hashes only.
	Unsigned int64
	Problems []Problem
	// FirstBad is the first bad entry, -1 when none is known. Exact tells whether the entry is
	// named exactly or only known to lie in [FirstBad, FirstBadEnd).
	FirstBad    int64
	FirstBadEnd int64
	Exact       bool
}

// OK reports whether nothing was found.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// TamperError is the error Verify returns when the log fails verification.
type TamperError struct {
	Report *Report
}

// Error names the first bad entry.
func (e *TamperError) Error() string {
	r := e.Report
	var b strings.Builder
	if r.FirstBad >= 0 {
		p := r.firstProblem()
		if r.Exact {
			fmt.Fprintf(&b, "审计日志校验失败 (audit log verification failed): first bad entry %d (%s): %s", r.FirstBad, p.Kind, p.Message)
		} else {
			fmt.Fprintf(&b, "审计日志校验失败 (audit log verification failed): first bad entry %d (the first bad entry is somewhere in %d..%d; %s): %s", r.FirstBad, r.FirstBad, r.FirstBadEnd-1, p.Kind, p.Message)
		}
	} else if len(r.Problems) > 0 {
		fmt.Fprintf(&b, "审计日志校验失败 (audit log verification failed): %s: %s", r.Problems[0].Kind, r.Problems[0].Message)
	}
	if n := len(r.Problems); n > 1 {
		fmt.Fprintf(&b, " (and %d more problems)", n-1)
	}
	return b.String()
}

func (r *Report) firstProblem() Problem {
	for _, p := range r.Problems {
		if p.Entry == r.FirstBad && p.End == r.FirstBadEnd {
			return p
		}
	}
	for _, p := range r.Problems {
		if p.Entry == r.FirstBad {
			return p
		}
	}
	return Problem{Entry: r.FirstBad, End: r.FirstBad + 1}
}

// verifier is the state of one Verify run.
type verifier struct {
	rep    *Report
	fr     frontier
	trees  []tlog.Tree // signed, ascending N, deduplicated
	ci     int         // next tree to compare
	prevN  int64       // size of the last tree whose root matched (entries below are authentic)
	nProbs int

	exact    []int64   // entries named exactly (changed, moved, missing, duplicate)
	hashes   []Problem // interior hash mismatches: the bad entry is in [Entry, End), unless the hash itself was rewritten
	rootBad  bool      // a signed root did not match
	rootLo   int64     // the first bad entry lies in [rootLo, rootHi)
	rootHi   int64
	rootProb int // index in rep.Problems of the first root problem, -1 if not listed
}

func (v *verifier) add(p Problem) int {
	v.nProbs++
	switch {
	case p.Kind == ProblemHash:
		v.hashes = append(v.hashes, Problem{Kind: p.Kind, Entry: p.Entry, End: p.End}) // no message: a wrecked log can have millions
	case p.Entry >= 0 && p.Kind != ProblemRoot:
		v.exact = append(v.exact, p.Entry)
	}
	if len(v.rep.Problems) < maxProblems {
		v.rep.Problems = append(v.rep.Problems, p)
		return len(v.rep.Problems) - 1
	}
	return -1
}

// push adds the leaf of position v.fr.n and compares roots at checkpoint sizes.
func (v *verifier) push(leaf tlog.Hash) ([]tlog.Hash, error) {
	hs, err := v.fr.add(leaf)
	if err != nil {
		return nil, err
	}
	for v.ci < len(v.trees) && v.trees[v.ci].N == v.fr.n {
		t := v.trees[v.ci]
		root, err := v.fr.root()
		if err != nil {
			return nil, err
		}
		switch {
		case root == t.Hash && !v.rootBad:
			v.prevN = t.N
		case root != t.Hash && !v.rootBad:
			v.rootBad, v.rootLo, v.rootHi = true, v.prevN, t.N
			v.rootProb = v.add(Problem{Kind: ProblemRoot, Entry: v.prevN, End: t.N,
				Message: fmt.Sprintf("entries %d..%d no longer hash to the root signed at size %d (entries before %d match their checkpoint)", v.prevN, t.N-1, t.N, v.prevN)})
		}
		v.ci++
	}
	return hs, nil
}

// decide sets FirstBad from what was found. Exactly named entries win. Otherwise a root that no
// longer matches bounds the first bad entry to [last matching checkpoint, first failing one);
// stored interior hashes that disagree with the entries below them narrow it further (the
// innermost such subtree is where a rewritten entry hides, unless the hash itself was rewritten).
func (v *verifier) decide() {
	r := v.rep
	best, bestEnd, exact := int64(-1), int64(-1), false
	for _, e := range v.exact {
		if best < 0 || e < best {
			best, bestEnd, exact = e, e+1, true
		}
	}
	// innermost returns the hash problem inside [lo, hi) that ends first (the innermost of
	// nested subtrees, or the earliest of disjoint ones).
	innermost := func(lo, hi int64) (Problem, bool) {
		var p Problem
		ok := false
		for _, h := range v.hashes {
			if h.Entry < lo || h.End > hi {
				continue
			}
			if !ok || h.End < p.End || h.End == p.End && h.Entry > p.Entry {
				p, ok = h, true
			}
		}
		return p, ok
	}
	if v.rootBad && (best < 0 || best >= v.rootHi) {
		best, bestEnd, exact = v.rootLo, v.rootHi, false
		if p, ok := innermost(v.rootLo, v.rootHi); ok {
			best, bestEnd = p.Entry, p.End
		}
		if v.rootProb >= 0 {
			r.Problems[v.rootProb].Entry, r.Problems[v.rootProb].End = best, bestEnd
		}
	}
	if best < 0 {
		if p, ok := innermost(0, 1<<62); ok {
			best, bestEnd = p.Entry, p.End
		}
	}
	r.FirstBad, r.FirstBadEnd, r.Exact = best, bestEnd, exact
}

// Verify re-reads every entry of the log in s, recomputes every leaf and node hash and compares
// them with the stored hashes and with every signed checkpoint. It returns the report and, when
// anything is wrong, a *TamperError naming the first bad entry. Other errors are failures to read.
func Verify(ctx context.Context, s Store, opts VerifyOptions) (*Report, error) {
	if opts.Verifier == nil {
		return nil, citybrain.Errorf(citybrain.EINVALID, "audit: verify needs the public key")
	}
	if opts.Chunk <= 0 {
		opts.Chunk = 4096
	}
	rep := &Report{FirstBad: -1, FirstBadEnd: -1}
	v := &verifier{rep: rep, rootProb: -1}

	cps, err := s.AuditCheckpoints(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	notes := make([][]byte, 0, len(cps)+len(opts.Trusted))
	for _, c := range cps {
		notes = append(notes, c.Note)
	}
	notes = append(notes, opts.Trusted...)
	var latestTime time.Time
	for i, msg := range notes {
		tree, t, err := OpenCheckpoint(msg, opts.Verifier)
		if err != nil {
			what := fmt.Sprintf("stored checkpoint #%d", i+1)
			if i >= len(cps) {
				what = fmt.Sprintf("trusted checkpoint #%d", i-len(cps)+1)
			} else {
				what += fmt.Sprintf(" (claims size %d)", cps[i].Size)
			}
			v.add(Problem{Kind: ProblemSignature, Entry: -1, End: -1, Message: what + ": " + citybrain.ErrorMessage(err)})
			continue
		}
		rep.Checkpoints++
		v.trees = append(v.trees, tree)
		if tree.N > rep.Signed.N || (tree.N == rep.Signed.N && latestTime.IsZero()) {
			rep.Signed, latestTime = tree, t
		}
	}
	rep.SignedTime = latestTime
	sort.SliceStable(v.trees, func(i, j int) bool { return v.trees[i].N < v.trees[j].N })
	dedup := v.trees[:0]
	for _, t := range v.trees {
		if n := len(dedup); n > 0 && dedup[n-1].N == t.N {
			if dedup[n-1].Hash != t.Hash {
				v.add(Problem{Kind: ProblemFork, Entry: -1, End: -1, Message: fmt.Sprintf("two signed checkpoints of size %d have different roots", t.N)})
			}
			continue
		}
		dedup = append(dedup, t)
	}
	v.trees = dedup
	for v.ci < len(v.trees) && v.trees[v.ci].N == 0 {
		if empty, _ := tlog.TreeHash(0, nil); v.trees[v.ci].Hash != empty {
			v.add(Problem{Kind: ProblemRoot, Entry: -1, End: -1, Message: "checkpoint of size 0 has a non-empty root"})
		}
		v.ci++
	}
	if rep.Checkpoints == 0 {
		v.add(Problem{Kind: ProblemNoCheckpoint, Entry: -1, End: -1, Message: "no checkpoint verifies with this key; nothing authenticates the log"})
	}

	total, err := s.AuditSize(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	// A reader goroutine fetches and leaf-hashes the next chunk while this one builds the tree.
	type chunk struct {
		recs   []Record
		leaves []tlog.Hash
		index  []string // per record: the search column that disagrees with Data, "" when none
		err    error
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan chunk, 2)
	go func() {
		defer close(chunks)
		from := int64(0)
		for {
			recs, err := s.ReadAuditRecords(rctx, from, opts.Chunk)
			c := chunk{recs: recs, err: err}
			if err == nil && len(recs) == 0 {
				return
			}
			if err == nil {
				c.leaves = make([]tlog.Hash, len(recs))
				c.index = make([]string, len(recs))
				for i := range recs {
					c.leaves[i] = tlog.RecordHash(recs[i].Data)
					if recs[i].Indexed {
						c.index[i] = indexMismatch(recs[i].Data, &recs[i].Entry)
					}
				}
				from = recs[len(recs)-1].Seq + 1
			}
			select {
			case chunks <- c:
			case <-rctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
read:
	for c := range chunks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if c.err != nil {
			return nil, fmt.Errorf("audit: verify: %w", c.err)
		}
		for j, r := range c.recs {
			pos := v.fr.n
			if r.Seq < pos {
				v.add(Problem{Kind: ProblemDuplicate, Entry: r.Seq, End: r.Seq + 1, Message: fmt.Sprintf("a second record claims position %d", r.Seq)})
				continue
			}
			if r.Seq > pos {
				if r.Seq-pos > maxGap {
					v.add(Problem{Kind: ProblemMissing, Entry: pos, End: pos + 1, Message: fmt.Sprintf("entries %d..%d missing; verification stopped", pos, r.Seq-1)})
					break read
				}
				if r.Seq-pos == 1 {
					v.add(Problem{Kind: ProblemMissing, Entry: pos, End: pos + 1, Message: fmt.Sprintf("entry %d is missing", pos)})
				} else {
					v.add(Problem{Kind: ProblemMissing, Entry: pos, End: pos + 1, Message: fmt.Sprintf("entries %d..%d are missing", pos, r.Seq-1)})
				}
				for v.fr.n < r.Seq {
					if _, err := v.push(tlog.Hash{}); err != nil {
						return nil, err
					}
				}
				pos = r.Seq
			}
			hs, err := v.push(c.leaves[j])
			if err != nil {
				return nil, err
			}
			if ds, ok := seqOf(r.Data); ok && ds != pos {
				v.add(Problem{Kind: ProblemMoved, Entry: pos, End: pos + 1, Message: fmt.Sprintf("position %d holds the entry written as %d", pos, ds)})
			} else if len(r.Hashes) == 0 || r.Hashes[0] != hs[0] {
				v.add(Problem{Kind: ProblemChanged, Entry: pos, End: pos + 1, Message: fmt.Sprintf("entry %d does not match its stored leaf hash", pos)})
			} else if col := c.index[j]; col != "" {
				v.add(Problem{Kind: ProblemIndex, Entry: pos, End: pos + 1, Message: fmt.Sprintf("entry %d: its search column %q differs from the signed entry", pos, col)})
			}
			for k := 1; k < len(hs); k++ {
				if k >= len(r.Hashes) || r.Hashes[k] != hs[k] {
					lo := pos + 1 - 1<<uint(k)
					v.add(Problem{Kind: ProblemHash, Entry: lo, End: pos + 1, Message: fmt.Sprintf("stored hash of entries %d..%d does not match them", lo, pos)})
					break
				}
			}
			if len(r.Hashes) > len(hs) {
				v.add(Problem{Kind: ProblemHash, Entry: pos, End: pos + 1, Message: fmt.Sprintf("entry %d carries extra stored hashes", pos)})
			}
		}
		if opts.Progress != nil {
			opts.Progress(v.fr.n, total)
		}
	}
	rep.Size = v.fr.n
	if rep.Signed.N > rep.Size {
		v.add(Problem{Kind: ProblemMissing, Entry: rep.Size, End: rep.Size + 1,
			Message: fmt.Sprintf("log has %d entries but a checkpoint signed %d: entries %d..%d are missing", rep.Size, rep.Signed.N, rep.Size, rep.Signed.N-1)})
	} else {
		rep.Unsigned = rep.Size - rep.Signed.N
	}
	if rep.Root, err = v.fr.root(); err != nil {
		return nil, err
	}
	v.decide()
	if v.nProbs > len(rep.Problems) {
		rep.Problems = append(rep.Problems, Problem{Kind: "more", Entry: -1, End: -1, Message: fmt.Sprintf("%d more problems not listed", v.nProbs-len(rep.Problems))})
	}
	if !rep.OK() {
		return rep, &TamperError{Report: rep}
	}
	return rep, nil
}
