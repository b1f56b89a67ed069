package telemetry

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
)

// BlockMillis returns the span of one rollup block of the resolution: an hour of minute
// rollups, a day (UTC) of hour rollups. SQL stores keep one row per series and block, which
// cuts the rows a long or wide query reads by 60 or 24.
func (r Resolution) BlockMillis() int64 {
	if r == ResHour {
		return 24 * hourMs
	}
	return hourMs
}

// Rollup block layout: version byte 1, uvarint slot count, then per slot in increasing slot
// order: uvarint slot index (bucket = block start + index × resolution), uvarint count,
// min, max, sum and last as little-endian IEEE 754 bits, varint LastTS - bucket.
const rollupBlockVersion = 1

// EncodeRollupBlock encodes rollups of one series that all fall in the block starting at
// blockStart. Rollups with equal buckets are an error.
func EncodeRollupBlock(res Resolution, blockStart int64, rs []Rollup) ([]byte, error) {
	sorted := append([]Rollup(nil), rs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Bucket < sorted[j].Bucket })
	w := res.Millis()
	out := make([]byte, 0, 2+len(sorted)*44)
	out = append(out, rollupBlockVersion)
	out = binary.AppendUvarint(out, uint64(len(sorted)))
	prev := int64(-1)
	for _, r := range sorted {
		off := r.Bucket - blockStart
		if off < 0 || off >= res.BlockMillis() || off%w != 0 {
			return nil, fmt.Errorf("telemetry: rollup at %d outside the %s block at %d", r.Bucket, res, blockStart)
		}
		idx := off / w
		if idx == prev {
			return nil, fmt.Errorf("telemetry: two rollups at %d", r.Bucket)
		}
		prev = idx
		out = binary.AppendUvarint(out, uint64(idx))
		out = binary.AppendUvarint(out, uint64(r.Count))
		for _, f := range []float64{r.Min, r.Max, r.Sum, r.Last} {
			out = binary.LittleEndian.AppendUint64(out, math.Float64bits(f))
		}
		out = binary.AppendVarint(out, r.LastTS-r.Bucket)
	}
	return out, nil
}

// DecodeRollupBlock decodes a block, calling fn for each rollup in bucket order (DeviceID
// and Measurement are left empty). It never panics; bad bytes give an error wrapping
// ErrCorruptChunk.
func DecodeRollupBlock(res Resolution, blockStart int64, b []byte, fn func(r Rollup)) error {
	bad := func(what string) error { return fmt.Errorf("%w: rollup block: %s", ErrCorruptChunk, what) }
	if len(b) < 2 || b[0] != rollupBlockVersion {
		return bad("header")
	}
	b = b[1:]
	n, sz := binary.Uvarint(b)
	if sz <= 0 || n > uint64(res.BlockMillis()/res.Millis()) {
		return bad("count")
	}
	b = b[sz:]
	w := res.Millis()
	for i := uint64(0); i < n; i++ {
		idx, sz := binary.Uvarint(b)
		if sz <= 0 || idx >= uint64(res.BlockMillis()/w) {
			return bad("slot")
		}
		b = b[sz:]
		cnt, sz := binary.Uvarint(b)
		if sz <= 0 || cnt > math.MaxInt64 {
			return bad("count")
		}
		b = b[sz:]
		if len(b) < 32 {
			return bad("values")
		}
		r := Rollup{Bucket: blockStart + int64(idx)*w, Count: int64(cnt)}
		r.Min = math.Float64frombits(binary.LittleEndian.Uint64(b))
		r.Max = math.Float64frombits(binary.LittleEndian.Uint64(b[8:]))
		r.Sum = math.Float64frombits(binary.LittleEndian.Uint64(b[16:]))
		r.Last = math.Float64frombits(binary.LittleEndian.Uint64(b[24:]))
		b = b[32:]
		d, sz := binary.Varint(b)
		if sz <= 0 {
			return bad("last ts")
		}
		b = b[sz:]
		r.LastTS = r.Bucket + d
		fn(r)
	}
	return nil
}

// MergeRollupBlock returns the block with the given rollups replacing the slots they name
// (old may be nil). The SQL stores use it to update one hour of a day block.
func MergeRollupBlock(res Resolution, blockStart int64, old []byte, rs []Rollup) ([]byte, error) {
	byBucket := map[int64]Rollup{}
	if len(old) > 0 {
		if err := DecodeRollupBlock(res, blockStart, old, func(r Rollup) { byBucket[r.Bucket] = r }); err != nil {
			return nil, err
		}
	}
	for _, r := range rs {
		byBucket[r.Bucket] = r
	}
	all := make([]Rollup, 0, len(byBucket))
	for _, r := range byBucket {
		all = append(all, r)
	}
	return EncodeRollupBlock(res, blockStart, all)
}
