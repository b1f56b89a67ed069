package telemetry

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The chunk format compresses one series' points (strictly increasing epoch-ms timestamps)
// the way Facebook's Gorilla paper and Prometheus' XOR chunk do, with one refinement for
// sensor data: values that are exact decimals (0.1 cm, 0.01 °C, integers) are stored as
// scaled integers whose deltas (or delta-of-deltas, for meters) take a few bits, where the
// XOR of two such floats would cost 30 to 50 bits.
//
// Layout:
//
//	byte 0      format version (1) << 4 | value mode (0 XOR, 1 decimal delta, 2 decimal delta-of-delta)
//	byte 1      decimal scale d (values are k / 10^d); 0 in XOR mode
//	uvarint     number of points n
//	varint      first timestamp (only when n > 0)
//	8 bytes     first value's IEEE 754 bits, big endian (XOR mode), or varint k (decimal modes)
//	bit stream  for each later point: the timestamp delta (second point) or delta-of-delta
//	            (later points) in a prefix-coded signed bucket, then the value per mode.

const (
	chunkVersion = 1

	modeXOR    = 0
	modeDelta  = 1
	modeDoD    = 2
	maxScale   = 9
	maxExactK  = 1 << 53
	headerSize = 2
)

// ErrCorruptChunk is returned (wrapped) when chunk bytes cannot be decoded.
var ErrCorruptChunk = errors.New("telemetry: corrupt chunk")

// Signed bucket widths. A zero is one '0' bit; bucket i is i+1 one bits then a zero bit
// (the last bucket has no terminating zero) followed by the value in width two's-complement bits.
func tsWidths() []uint  { return []uint{7, 10, 14, 20, 32, 64} }
func valWidths() []uint { return []uint{4, 7, 12, 20, 32, 64} }

func pow10(d int) float64 {
	p := 1.0
	for i := 0; i < d; i++ {
		p *= 10
	}
	return p
}

// EncodeChunk compresses points that are sorted by strictly increasing TS. It picks the
// smallest of the XOR and decimal encodings; decoding returns bit-identical values.
func EncodeChunk(pts []Point) ([]byte, error) {
	for i := 1; i < len(pts); i++ {
		if pts[i].TS <= pts[i-1].TS {
			return nil, fmt.Errorf("telemetry: encode chunk: timestamps not strictly increasing at %d", i)
		}
	}
	best := encodeMode(pts, modeXOR, 0)
	if d, ok := decimalScale(pts); ok {
		for _, m := range []byte{modeDelta, modeDoD} {
			if b := encodeMode(pts, m, d); len(b) < len(best) {
				best = b
			}
		}
	}
	return best, nil
}

// decimalScale finds the smallest d such that every value is exactly float64(k)/10^d.
func decimalScale(pts []Point) (int, bool) {
	if len(pts) == 0 {
		return 0, false
	}
scales:
	for d := 0; d <= maxScale; d++ {
		p := pow10(d)
		for _, pt := range pts {
			k := math.Round(pt.Value * p)
			if math.IsNaN(k) || math.Abs(k) > maxExactK {
				continue scales
			}
			if math.Float64bits(k/p) != math.Float64bits(pt.Value) {
				continue scales
			}
		}
		return d, true
	}
	return 0, false
}

func encodeMode(pts []Point, mode byte, scale int) []byte {
	out := make([]byte, headerSize, 16+len(pts)*3)
	out[0] = chunkVersion<<4 | mode
	out[1] = byte(scale)
	out = binary.AppendUvarint(out, uint64(len(pts)))
	if len(pts) == 0 {
		return out
	}
	out = binary.AppendVarint(out, pts[0].TS)
	p := pow10(scale)
	var k0 int64
	if mode == modeXOR {
		out = binary.BigEndian.AppendUint64(out, math.Float64bits(pts[0].Value))
	} else {
		k0 = int64(math.Round(pts[0].Value * p))
		out = binary.AppendVarint(out, k0)
	}
	w := bitWriter{buf: out}
	tsw, vw := tsWidths(), valWidths()
	var delta, kDelta int64
	prevK := k0
	prevBits := math.Float64bits(pts[0].Value)
	leading, trailing := uint(0xff), uint(0)
	for i := 1; i < len(pts); i++ {
		d := pts[i].TS - pts[i-1].TS
		if i == 1 {
			w.writeSigned(d, tsw)
		} else {
			w.writeSigned(d-delta, tsw)
		}
		delta = d
		switch mode {
		case modeXOR:
			bits := math.Float64bits(pts[i].Value)
			x := bits ^ prevBits
			prevBits = bits
			if x == 0 {
				w.writeBits(0, 1)
				continue
			}
			w.writeBits(1, 1)
			lz, tz := uint(leadingZeros(x)), uint(trailingZeros(x))
			if lz > 31 {
				lz = 31
			}
			if leading != 0xff && lz >= leading && tz >= trailing {
				w.writeBits(0, 1)
				w.writeBits(x>>trailing, 64-leading-trailing)
				continue
			}
			leading, trailing = lz, tz
			sig := 64 - lz - tz
			w.writeBits(1, 1)
			w.writeBits(uint64(lz), 5)
			w.writeBits(uint64(sig&63), 6) // 64 is written as 0
			w.writeBits(x>>tz, sig)
		case modeDelta:
			k := int64(math.Round(pts[i].Value * p))
			w.writeSigned(k-prevK, vw)
			prevK = k
		case modeDoD:
			k := int64(math.Round(pts[i].Value * p))
			kd := k - prevK
			if i == 1 {
				w.writeSigned(kd, vw)
			} else {
				w.writeSigned(kd-kDelta, vw)
			}
			kDelta, prevK = kd, k
		}
	}
	return w.finish()
}

func leadingZeros(x uint64) int {
	n := 0
	for i := 63; i >= 0 && x&(1<<uint(i)) == 0; i-- {
		n++
	}
	return n
}

func trailingZeros(x uint64) int {
	if x == 0 {
		return 64
	}
	n := 0
	for x&1 == 0 {
		x >>= 1
		n++
	}
	return n
}

// DecodeChunk decodes a whole chunk. It never panics, whatever the bytes; it returns an
// error wrapping ErrCorruptChunk for bytes EncodeChunk could not have produced.
func DecodeChunk(b []byte) ([]Point, error) {
	it := NewChunkIterator(b)
	pts := make([]Point, 0, it.Len())
	for it.Next() {
		pts = append(pts, it.At())
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	return pts, nil
}

// ChunkIterator walks a chunk's points in timestamp order without materialising them.
// It is not safe for concurrent use.
type ChunkIterator struct {
	r        bitReader
	mode     byte
	p        float64
	n, i     int
	cur      Point
	delta    int64
	k, kd    int64
	bits     uint64
	leading  uint
	trailing uint
	err      error
}

// NewChunkIterator returns an iterator over b. Errors surface through Err after Next
// returns false.
func NewChunkIterator(b []byte) *ChunkIterator {
	it := &ChunkIterator{}
	if len(b) < headerSize {
		it.err = fmt.Errorf("%w: short header", ErrCorruptChunk)
		return it
	}
	if b[0]>>4 != chunkVersion {
		it.err = fmt.Errorf("%w: unknown version %d", ErrCorruptChunk, b[0]>>4)
		return it
	}
	it.mode = b[0] & 0x0f
	scale := int(b[1])
	if it.mode > modeDoD || scale > maxScale || (it.mode == modeXOR && scale != 0) {
		it.err = fmt.Errorf("%w: bad mode %d or scale %d", ErrCorruptChunk, it.mode, scale)
		return it
	}
	it.p = pow10(scale)
	rest := b[headerSize:]
	n, sz := binary.Uvarint(rest)
	if sz <= 0 {
		it.err = fmt.Errorf("%w: bad count", ErrCorruptChunk)
		return it
	}
	rest = rest[sz:]
	if n == 0 {
		return it
	}
	ts, sz := binary.Varint(rest)
	if sz <= 0 {
		it.err = fmt.Errorf("%w: bad first timestamp", ErrCorruptChunk)
		return it
	}
	rest = rest[sz:]
	it.cur.TS = ts
	if it.mode == modeXOR {
		if len(rest) < 8 {
			it.err = fmt.Errorf("%w: short first value", ErrCorruptChunk)
			return it
		}
		it.bits = binary.BigEndian.Uint64(rest)
		it.cur.Value = math.Float64frombits(it.bits)
		rest = rest[8:]
	} else {
		k, sz := binary.Varint(rest)
		if sz <= 0 {
			it.err = fmt.Errorf("%w: bad first value", ErrCorruptChunk)
			return it
		}
		rest = rest[sz:]
		it.k = k
		it.cur.Value = float64(k) / it.p
	}
	// Every later point takes at least two bits, which bounds n before anything is allocated.
	if n-1 > uint64(len(rest))*4 {
		it.err = fmt.Errorf("%w: count %d exceeds data", ErrCorruptChunk, n)
		return it
	}
	it.n = int(n)
	it.r = bitReader{b: rest}
	it.leading = 0xff
	return it
}

// Len returns the number of points the chunk header announces (0 for a corrupt header).
func (it *ChunkIterator) Len() int { return it.n }

// Next advances to the next point and reports whether there is one.
func (it *ChunkIterator) Next() bool {
	if it.err != nil || it.i >= it.n {
		return false
	}
	it.i++
	if it.i == 1 {
		return true
	}
	if err := it.step(); err != nil {
		it.err = err
		return false
	}
	return true
}

func (it *ChunkIterator) step() error {
	tsw, vw := tsWidths(), valWidths()
	v, ok := it.r.readSigned(tsw)
	if !ok {
		return fmt.Errorf("%w: truncated timestamp", ErrCorruptChunk)
	}
	if it.i == 2 {
		it.delta = v
	} else {
		it.delta += v
	}
	if it.delta <= 0 {
		return fmt.Errorf("%w: timestamps not increasing", ErrCorruptChunk)
	}
	next := it.cur.TS + it.delta
	if next <= it.cur.TS {
		return fmt.Errorf("%w: timestamp overflow", ErrCorruptChunk)
	}
	it.cur.TS = next
	switch it.mode {
	case modeXOR:
		ctl, ok := it.r.readBits(1)
		if !ok {
			return fmt.Errorf("%w: truncated value", ErrCorruptChunk)
		}
		if ctl == 0 {
			return nil
		}
		ctl, ok = it.r.readBits(1)
		if !ok {
			return fmt.Errorf("%w: truncated value", ErrCorruptChunk)
		}
		if ctl == 1 {
			lz, ok1 := it.r.readBits(5)
			sig, ok2 := it.r.readBits(6)
			if !ok1 || !ok2 {
				return fmt.Errorf("%w: truncated value header", ErrCorruptChunk)
			}
			if sig == 0 {
				sig = 64
			}
			if lz+sig > 64 {
				return fmt.Errorf("%w: bad value window", ErrCorruptChunk)
			}
			it.leading, it.trailing = uint(lz), uint(64-lz-sig)
		} else if it.leading == 0xff {
			return fmt.Errorf("%w: value window reused before set", ErrCorruptChunk)
		}
		sig := 64 - it.leading - it.trailing
		x, ok := it.r.readBits(sig)
		if !ok {
			return fmt.Errorf("%w: truncated value bits", ErrCorruptChunk)
		}
		it.bits ^= x << it.trailing
		it.cur.Value = math.Float64frombits(it.bits)
	case modeDelta, modeDoD:
		v, ok := it.r.readSigned(vw)
		if !ok {
			return fmt.Errorf("%w: truncated value", ErrCorruptChunk)
		}
		if it.mode == modeDelta || it.i == 2 {
			it.kd = v
		} else {
			it.kd += v
		}
		it.k += it.kd
		it.cur.Value = float64(it.k) / it.p
	}
	return nil
}

// At returns the current point.
func (it *ChunkIterator) At() Point { return it.cur }

// Err returns the first decoding error, if any.
func (it *ChunkIterator) Err() error { return it.err }

type bitWriter struct {
	buf  []byte
	acc  uint64
	nacc uint
}

func mask(n uint) uint64 {
	if n >= 64 {
		return ^uint64(0)
	}
	return 1<<n - 1
}

// writeBits writes the low n bits of v, most significant first.
func (w *bitWriter) writeBits(v uint64, n uint) {
	for n > 0 {
		take := 64 - w.nacc
		if take > n {
			take = n
		}
		chunk := (v >> (n - take)) & mask(take)
		if take == 64 {
			w.acc = chunk
		} else {
			w.acc = w.acc<<take | chunk
		}
		w.nacc += take
		n -= take
		if w.nacc == 64 {
			w.buf = binary.BigEndian.AppendUint64(w.buf, w.acc)
			w.acc, w.nacc = 0, 0
		}
	}
}

func (w *bitWriter) writeSigned(v int64, widths []uint) {
	if v == 0 {
		w.writeBits(0, 1)
		return
	}
	for i, width := range widths {
		last := i == len(widths)-1
		lo, hi := -(int64(1) << (width - 1)), int64(1)<<(width-1)-1
		if width == 64 {
			lo, hi = math.MinInt64, math.MaxInt64
		}
		if v < lo || v > hi {
			continue
		}
		if last {
			w.writeBits(mask(uint(i+1)), uint(i+1))
		} else {
			w.writeBits(mask(uint(i+1))<<1, uint(i+2))
		}
		w.writeBits(uint64(v)&mask(width), width)
		return
	}
}

func (w *bitWriter) finish() []byte {
	if w.nacc > 0 {
		v := w.acc << (64 - w.nacc)
		for i := uint(0); i < (w.nacc+7)/8; i++ {
			w.buf = append(w.buf, byte(v>>(56-8*i)))
		}
		w.acc, w.nacc = 0, 0
	}
	return w.buf
}

type bitReader struct {
	b   []byte
	pos uint
}

// readBits reads n ≤ 64 bits, most significant first.
func (r *bitReader) readBits(n uint) (uint64, bool) {
	if r.pos+n > uint(len(r.b))*8 {
		return 0, false
	}
	if n == 0 {
		return 0, true
	}
	if byteAt := r.pos / 8; n <= 56 && byteAt+8 <= uint(len(r.b)) {
		// Fast path: one 64-bit load holds the n bits.
		w := binary.BigEndian.Uint64(r.b[byteAt:]) << (r.pos % 8)
		r.pos += n
		return w >> (64 - n), true
	}
	var v uint64
	for n > 0 {
		off := r.pos % 8
		avail := 8 - off
		take := avail
		if take > n {
			take = n
		}
		bits := uint64(r.b[r.pos/8]>>(avail-take)) & mask(take)
		v = v<<take | bits
		r.pos += take
		n -= take
	}
	return v, true
}

func (r *bitReader) readSigned(widths []uint) (int64, bool) {
	ones := 0
	if byteAt := r.pos / 8; byteAt+8 <= uint(len(r.b)) {
		// Fast path: count the prefix's one bits in one load.
		w := binary.BigEndian.Uint64(r.b[byteAt:]) << (r.pos % 8)
		for ones < len(widths) && w&(1<<63) != 0 {
			ones++
			w <<= 1
		}
		if ones < len(widths) {
			r.pos += uint(ones) + 1 // the terminating zero
		} else {
			r.pos += uint(ones)
		}
		if ones == 0 {
			return 0, true
		}
		return r.signedValue(widths[ones-1])
	}
	for ones < len(widths) {
		b, ok := r.readBits(1)
		if !ok {
			return 0, false
		}
		if b == 0 {
			break
		}
		ones++
	}
	if ones == 0 {
		return 0, true
	}
	return r.signedValue(widths[ones-1])
}

// signedValue reads a two's-complement value of width bits.
func (r *bitReader) signedValue(width uint) (int64, bool) {
	u, ok := r.readBits(width)
	if !ok {
		return 0, false
	}
	if width < 64 && u&(1<<(width-1)) != 0 { // sign-extend
		u |= ^mask(width)
	}
	return int64(u), true
}
