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

// Minute blocks use the columnar layout (hour blocks the row layout of encodeRollupBlockV1):
// a version byte (2), then six
// columns, each a uvarint length and an EncodeChunk blob whose timestamps are slot indexes
// (bucket = block start + index × resolution): last and LastTS − bucket for every slot, then
// count, min, max and sum only for the slots that are not "plain". A plain slot summarises
// one point (count 1, min = max = sum = last), as one-minute data mostly gives in minute
// blocks, so those cost the last value and its time offset: a few bits each.
const rollupBlockVersion = 2

// plain reports whether a rollup summarises exactly one point.
func plain(r Rollup) bool {
	return r.Count == 1 && same(r.Min, r.Last) && same(r.Max, r.Last) && same(r.Sum, r.Last)
}

// EncodeRollupBlock encodes rollups of one series that all fall in the block starting at
// blockStart. Rollups with equal buckets are an error.
func EncodeRollupBlock(res Resolution, blockStart int64, rs []Rollup) ([]byte, error) {
	sorted := append([]Rollup(nil), rs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Bucket < sorted[j].Bucket })
	w := res.Millis()
	var rich []Rollup
	for i, r := range sorted {
		off := r.Bucket - blockStart
		if off < 0 || off >= res.BlockMillis() || off%w != 0 {
			return nil, fmt.Errorf("telemetry: rollup at %d outside the %s block at %d", r.Bucket, res, blockStart)
		}
		if i > 0 && r.Bucket == sorted[i-1].Bucket {
			return nil, fmt.Errorf("telemetry: two rollups at %d", r.Bucket)
		}
		if !plain(r) {
			rich = append(rich, r)
		}
	}
	if res == ResHour {
		return encodeRollupBlockV1(blockStart, w, sorted), nil
	}
	out := []byte{rollupBlockVersion}
	for c, col := range []struct {
		rs []Rollup
		f  func(r Rollup) float64
	}{
		{sorted, func(r Rollup) float64 { return r.Last }},
		{sorted, func(r Rollup) float64 { return float64(r.LastTS - r.Bucket) }},
		{rich, func(r Rollup) float64 { return float64(r.Count) }},
		{rich, func(r Rollup) float64 { return r.Min }},
		{rich, func(r Rollup) float64 { return r.Max }},
		{rich, func(r Rollup) float64 { return r.Sum }},
	} {
		pts := make([]Point, len(col.rs))
		for i, r := range col.rs {
			pts[i] = Point{TS: (r.Bucket - blockStart) / w, Value: col.f(r)}
		}
		b, err := EncodeChunk(pts)
		if err != nil {
			return nil, fmt.Errorf("telemetry: rollup block column %d: %w", c, err)
		}
		out = binary.AppendUvarint(out, uint64(len(b)))
		out = append(out, b...)
	}
	return out, nil
}

// same compares floats bit for bit (so -0 and NaN keep their identity).
func same(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

// DecodeRollupBlock decodes a block, calling fn for each rollup in bucket order (DeviceID
// and Measurement are left empty). It never panics; bad bytes give an error wrapping
// ErrCorruptChunk.
func DecodeRollupBlock(res Resolution, blockStart int64, b []byte, fn func(r Rollup)) error {
	bad := func(what string) error { return fmt.Errorf("%w: rollup block: %s", ErrCorruptChunk, what) }
	if len(b) >= 2 && b[0] == 1 {
		return decodeRollupBlockV1(res, blockStart, b[1:], fn, bad)
	}
	if len(b) < 1 || b[0] != rollupBlockVersion {
		return bad("header")
	}
	b = b[1:]
	slots := res.BlockMillis() / res.Millis()
	var cols [6][]Point
	for c := range cols {
		n, sz := binary.Uvarint(b)
		if sz <= 0 || n > uint64(len(b)-sz) {
			return bad("column length")
		}
		pts, err := DecodeChunk(b[sz : sz+int(n)])
		if err != nil {
			return fmt.Errorf("rollup block column %d: %w", c, err)
		}
		b = b[sz+int(n):]
		ref := 0 // columns 1 and 3-5 repeat the slots of columns 0 and 2
		if c >= 2 {
			ref = 2
		}
		if c != ref && len(pts) != len(cols[ref]) {
			return bad("column sizes differ")
		}
		for i, p := range pts {
			if p.TS < 0 || p.TS >= slots || (c != ref && p.TS != cols[ref][i].TS) {
				return bad("slot index")
			}
		}
		cols[c] = pts
	}
	w := res.Millis()
	k := 0 // next rich slot
	for i, lp := range cols[0] {
		r := Rollup{Bucket: blockStart + lp.TS*w, Count: 1, Min: lp.Value, Max: lp.Value, Sum: lp.Value, Last: lp.Value}
		if k < len(cols[2]) && cols[2][k].TS == lp.TS {
			cnt := cols[2][k].Value
			if cnt < 0 || cnt > 1<<53 || cnt != math.Trunc(cnt) {
				return bad("count")
			}
			r.Count, r.Min, r.Max, r.Sum = int64(cnt), cols[3][k].Value, cols[4][k].Value, cols[5][k].Value
			k++
		}
		off := cols[1][i].Value
		if math.Abs(off) > 1<<53 || off != math.Trunc(off) {
			return bad("last timestamp")
		}
		r.LastTS = r.Bucket + int64(off)
		fn(r)
	}
	if k != len(cols[2]) {
		return bad("summary for a slot without a value")
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

// encodeRollupBlockV1 writes the row layout (version byte 1): uvarint slot count, then per
// slot uvarint index, uvarint count, min, max, sum and last as little-endian IEEE 754 bits,
// varint LastTS − bucket. Hour blocks use it: they are small (24 slots, about 0.6 byte per
// one-minute point) and read in bulk by district-wide queries, where a plain loop decodes
// several times faster than six columns.
func encodeRollupBlockV1(blockStart, w int64, sorted []Rollup) []byte {
	out := make([]byte, 0, 2+len(sorted)*40)
	out = append(out, 1)
	out = binary.AppendUvarint(out, uint64(len(sorted)))
	for _, r := range sorted {
		out = binary.AppendUvarint(out, uint64((r.Bucket-blockStart)/w))
		out = binary.AppendUvarint(out, uint64(r.Count))
		for _, f := range []float64{r.Min, r.Max, r.Sum, r.Last} {
			out = binary.LittleEndian.AppendUint64(out, math.Float64bits(f))
		}
		out = binary.AppendVarint(out, r.LastTS-r.Bucket)
	}
	return out
}

// decodeRollupBlockV1 reads the row layout of encodeRollupBlockV1 (also what builds before
// the columnar layout wrote for minute blocks).
func decodeRollupBlockV1(res Resolution, blockStart int64, b []byte, fn func(r Rollup), bad func(string) error) error {
	n, sz := binary.Uvarint(b)
	if sz <= 0 || n > uint64(res.BlockMillis()/res.Millis()) {
		return bad("count")
	}
	b = b[sz:]
	w := res.Millis()
	prev := int64(-1)
	for i := uint64(0); i < n; i++ {
		idx, sz := binary.Uvarint(b)
		if sz <= 0 || idx >= uint64(res.BlockMillis()/w) || int64(idx) <= prev {
			return bad("slot")
		}
		prev = int64(idx)
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
