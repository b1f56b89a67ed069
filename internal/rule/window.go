package rule

import "time"

// point is one reading kept for window functions.
type point struct {
	TS int64   `json:"t"` // epoch ms
	V  float64 `json:"v"`
}

// ring is a bounded, time-ordered buffer of recent points of one measurement. It keeps at
// most cap points and drops points older than keep; pushing is O(1) amortised.
type ring struct {
	buf   []point
	head  int // index of the oldest point
	n     int
	keep  time.Duration
	limit int
}

func newRing(keep time.Duration, limit int) *ring {
	return &ring{keep: keep, limit: limit}
}

func (r *ring) at(i int) point { return r.buf[(r.head+i)%len(r.buf)] }

func (r *ring) last() (point, bool) {
	if r.n == 0 {
		return point{}, false
	}
	return r.at(r.n - 1), true
}

// push appends p; points out of order (older than the newest) are dropped.
func (r *ring) push(p point) {
	if l, ok := r.last(); ok && p.TS < l.TS {
		return
	}
	cutoff := p.TS - r.keep.Milliseconds()
	for r.n > 0 && r.at(0).TS < cutoff {
		r.head = (r.head + 1) % len(r.buf)
		r.n--
	}
	if r.n == len(r.buf) {
		if len(r.buf) < r.limit {
			nb := make([]point, min(max(2*len(r.buf), 8), r.limit))
			for i := 0; i < r.n; i++ {
				nb[i] = r.at(i)
			}
			r.buf, r.head = nb, 0
		} else {
			// full at the limit: overwrite the oldest point
			r.head = (r.head + 1) % len(r.buf)
			r.n--
		}
	}
	r.buf[(r.head+r.n)%len(r.buf)] = p
	r.n++
}

// points returns the points in time order.
func (r *ring) points() []point {
	out := make([]point, r.n)
	for i := range out {
		out[i] = r.at(i)
	}
	return out
}

// aggregate computes fn over the points with TS in [now-w, now]. ok is false when the
// window holds no point (except for count, which is then 0).
func (r *ring) aggregate(fn string, w time.Duration, now int64) (float64, bool) {
	from := now - w.Milliseconds()
	var (
		cnt             int
		sum, lo, hi     float64
		first, lastP    point
		haveFirst, have bool
	)
	for i := 0; i < r.n; i++ {
		p := r.at(i)
		if p.TS < from || p.TS > now {
			continue
		}
		if !haveFirst {
			first, haveFirst = p, true
			lo, hi = p.V, p.V
		}
		lastP, have = p, true
		cnt++
		sum += p.V
		lo = min(lo, p.V)
		hi = max(hi, p.V)
	}
	if fn == "count" {
		return float64(cnt), true
	}
	if !have {
		return 0, false
	}
	switch fn {
	case "avg":
		return sum / float64(cnt), true
	case "min":
		return lo, true
	case "max":
		return hi, true
	case "sum":
		return sum, true
	case "delta":
		return lastP.V - first.V, true
	case "rate":
		dt := float64(lastP.TS-first.TS) / 60000
		if dt <= 0 {
			return 0, true
		}
		return (lastP.V - first.V) / dt, true
	}
	return 0, false
}
