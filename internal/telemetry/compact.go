package telemetry

import (
	"context"
	"fmt"
	"math"
)

const (
	minuteMs = int64(60_000)
	hourMs   = int64(3600_000)
)

// bucketOf returns the start of the step-wide bucket holding ts, the same expression the
// SQL stores use (ts - ts % step), valid for the positive timestamps Append accepts.
func bucketOf(ts, step int64) int64 { return ts - ts%step }

// compactPass moves every raw point older than the horizon (Options.CompactDelay and
// CompactStep) into per-hour chunks and rollups, CompactSlice series per transaction. Points
// for an hour already (partly) compacted are merged into its chunk and the hour's rollups
// are recomputed from the merged points. It runs
// in the writer goroutine, so no append interleaves between reading raw points and deleting
// them; queued appends are committed between slices.
func (s *Service) compactPass(ctx context.Context) error {
	now := s.opt.Now().UnixMilli()
	before := bucketOf(now-s.opt.CompactDelay.Milliseconds(), s.opt.CompactStep.Milliseconds())
	if before == s.passBefore && !s.lateArrival {
		return nil // nothing can have become compactable since the last complete pass
	}
	s.lateArrival = false
	done := func() error {
		s.passBefore = before
		return nil
	}
	var after SeriesKey
	for {
		keys, err := s.store.RawSeries(ctx, before, after, s.opt.CompactSlice)
		if err != nil {
			s.lateArrival = true // retry next time
			return fmt.Errorf("telemetry: compact: %w", err)
		}
		if len(keys) == 0 {
			return done()
		}
		var cs []Compaction
		for _, k := range keys {
			kc, err := s.compactSeries(ctx, k, before)
			if err != nil {
				s.lateArrival = true
				return err
			}
			cs = append(cs, kc...)
		}
		if len(cs) > 0 {
			if err := s.store.ApplyCompactions(ctx, cs); err != nil {
				s.lateArrival = true
				return fmt.Errorf("telemetry: compact: %w", err)
			}
			s.compacted.Add(int64(len(cs)))
		}
		after = keys[len(keys)-1]
		// Move the horizon before committing queued appends, so that a reading older than
		// it, for a series this pass already went by, flags the next pass.
		s.passBefore = before
		s.flushQueued(ctx)
		if len(keys) < s.opt.CompactSlice {
			return done()
		}
		select {
		case <-s.closing: // finish later: what is not compacted stays in raw
			s.lateArrival = true
			return nil
		default:
		}
	}
}

func (s *Service) compactSeries(ctx context.Context, k SeriesKey, before int64) ([]Compaction, error) {
	pts, err := s.store.RawRange(ctx, k, math.MinInt64, before)
	if err != nil {
		return nil, fmt.Errorf("telemetry: compact %s/%s: %w", k.DeviceID, k.Measurement, err)
	}
	var out []Compaction
	for i := 0; i < len(pts); {
		h := bucketOf(pts[i].TS, hourMs)
		j := i
		for j < len(pts) && pts[j].TS < h+hourMs {
			j++
		}
		hourPts := pts[i:j]
		i = j
		chunks, err := s.store.ChunkRange(ctx, k, h, h+hourMs)
		if err != nil {
			return nil, fmt.Errorf("telemetry: compact %s/%s: %w", k.DeviceID, k.Measurement, err)
		}
		var old []Point
		corrupt := false
		for _, c := range chunks {
			if c.StartTS < h || c.StartTS >= h+hourMs {
				continue
			}
			cp, err := DecodeChunk(c.Data)
			if err != nil {
				corrupt = true
				break
			}
			old = mergePoints(old, cp)
		}
		if corrupt {
			// Leave this hour's raw points where they are rather than overwrite a chunk
			// we cannot read; the raw path still serves them.
			continue
		}
		c, err := buildCompaction(k, h, mergePoints(old, hourPts))
		if err != nil {
			return nil, err
		}
		c.RawTS = make([]int64, len(hourPts))
		for i, p := range hourPts {
			c.RawTS[i] = p.TS
		}
		out = append(out, c)
	}
	return out, nil
}

// mergePoints merges two ts-sorted slices; on equal timestamps a's point wins, as the
// first stored value wins on insert.
func mergePoints(a, b []Point) []Point {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	out := make([]Point, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i].TS < b[j].TS:
			out = append(out, a[i])
			i++
		case a[i].TS > b[j].TS:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

func buildCompaction(k SeriesKey, hour int64, pts []Point) (Compaction, error) {
	data, err := EncodeChunk(pts)
	if err != nil {
		return Compaction{}, fmt.Errorf("telemetry: compact %s/%s: %w", k.DeviceID, k.Measurement, err)
	}
	c := Compaction{
		Key:       k,
		HourStart: hour,
		Chunk: Chunk{DeviceID: k.DeviceID, Measurement: k.Measurement,
			StartTS: pts[0].TS, EndTS: pts[len(pts)-1].TS, Count: len(pts), Data: data},
		Hour: Rollup{DeviceID: k.DeviceID, Measurement: k.Measurement, Bucket: hour},
	}
	for _, p := range pts {
		m := bucketOf(p.TS, minuteMs)
		if n := len(c.Minutes); n == 0 || c.Minutes[n-1].Bucket != m {
			c.Minutes = append(c.Minutes, Rollup{DeviceID: k.DeviceID, Measurement: k.Measurement, Bucket: m})
		}
		addToRollup(&c.Minutes[len(c.Minutes)-1], p)
		addToRollup(&c.Hour, p)
	}
	return c, nil
}

func addToRollup(r *Rollup, p Point) {
	if r.Count == 0 || p.Value < r.Min {
		r.Min = p.Value
	}
	if r.Count == 0 || p.Value > r.Max {
		r.Max = p.Value
	}
	r.Count++
	r.Sum += p.Value
	if p.TS >= r.LastTS {
		r.Last, r.LastTS = p.Value, p.TS
	}
}

// retentionPass deletes raw points, chunks and rollups older than their retention.
func (s *Service) retentionPass(ctx context.Context) error {
	now := s.opt.Now().UnixMilli()
	c := Cutoffs{
		Raw:    now - s.opt.RawRetention.Milliseconds(),
		Minute: now - s.opt.MinuteRetention.Milliseconds(),
		Hour:   now - s.opt.HourRetention.Milliseconds(),
	}
	if err := s.store.DeleteBefore(ctx, c); err != nil {
		return fmt.Errorf("telemetry: retention: %w", err)
	}
	return nil
}
