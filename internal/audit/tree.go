package audit

import (
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// frontier is the right edge of the Merkle tree: the roots of the complete subtrees that make up
// a tree of n records (one per set bit of n, largest first). It is all the state needed to
// compute the stored hashes of the next record and the root, in O(log n) memory. It serves
// exactly those hashes to tlog as a HashReader, so the arithmetic stays tlog's.
type frontier struct {
	n     int64
	peaks []peak
}

type peak struct {
	index int64 // stored hash index
	hash  tlog.Hash
}

// ReadHashes implements tlog.HashReader over the peaks.
func (f *frontier) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		found := false
		for _, p := range f.peaks {
			if p.index == idx {
				out[i], found = p.hash, true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("audit: frontier has no hash %d", idx)
		}
	}
	return out, nil
}

// add appends the record with leaf hash h as record f.n and returns the stored hashes it
// completes (tlog.StoredHashesForRecordHash).
func (f *frontier) add(h tlog.Hash) ([]tlog.Hash, error) {
	hashes, err := tlog.StoredHashesForRecordHash(f.n, h, f)
	if err != nil {
		return nil, err
	}
	f.push(hashes)
	return hashes, nil
}

// push advances the frontier by record f.n whose stored hashes are given (as from add).
func (f *frontier) push(hashes []tlog.Hash) {
	m := len(hashes) - 1 // number of subtrees completed = trailing ones of n
	f.peaks = f.peaks[:len(f.peaks)-m]
	f.peaks = append(f.peaks, peak{index: tlog.StoredHashIndex(m, f.n>>uint(m)), hash: hashes[m]})
	f.n++
}

// root returns the tree hash of the f.n records.
func (f *frontier) root() (tlog.Hash, error) {
	return tlog.TreeHash(f.n, f)
}

// clone returns an independent copy.
func (f *frontier) clone() frontier {
	return frontier{n: f.n, peaks: append([]peak(nil), f.peaks...)}
}

// frontierIndexes returns the stored-hash indexes of the peaks of a tree of n records, largest
// subtree first.
func frontierIndexes(n int64) []int64 {
	var out []int64
	var start int64
	for l := 63; l >= 0; l-- {
		if n&(1<<uint(l)) == 0 {
			continue
		}
		out = append(out, tlog.StoredHashIndex(l, start>>uint(l)))
		start += 1 << uint(l)
	}
	return out
}

// loadFrontier builds the frontier of a tree of n records from stored hashes.
func loadFrontier(n int64, r tlog.HashReader) (frontier, error) {
	idx := frontierIndexes(n)
	hs, err := r.ReadHashes(idx)
	if err != nil {
		return frontier{}, err
	}
	f := frontier{n: n, peaks: make([]peak, len(idx))}
	for i := range idx {
		f.peaks[i] = peak{index: idx[i], hash: hs[i]}
	}
	if len(f.peaks) != bits.OnesCount64(uint64(n)) {
		return frontier{}, fmt.Errorf("audit: bad frontier for %d records", n)
	}
	return f, nil
}
