package telemetry

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/citybrain/citybrain"
)

// Query returns one series' points over [From, To): the stored points when Step is zero,
// else one aggregated point per non-empty bucket. Steps that are whole hours read the hour
// rollups, whole minutes the minute rollups (plus the raw points not yet compacted); other
// steps read raw points and chunks. A device that never reported yields an empty result.
func (s *Service) Query(ctx context.Context, q Query) ([]Point, error) {
	if q.DeviceID == "" {
		return nil, citybrain.FieldError("device_id", "设备编号为空 device id is required")
	}
	if q.Measurement == "" {
		return nil, citybrain.FieldError("measurement", "测量项为空 measurement is required")
	}
	from, to, err := checkRange(q.From, q.To, q.Step)
	if err != nil {
		return nil, err
	}
	key := SeriesKey{q.DeviceID, q.Measurement}
	if q.Step == 0 {
		if q.Agg != "" {
			return nil, citybrain.FieldError("step", "聚合需要步长 agg %q needs a step", q.Agg)
		}
		return s.seriesPoints(ctx, key, from, to)
	}
	agg, err := checkAgg(q.Agg)
	if err != nil {
		return nil, err
	}
	out, err := s.aggregate(ctx, map[string][]string{"": {q.DeviceID}}, q.Measurement, from, to, q.Step.Milliseconds(), agg)
	if err != nil {
		return nil, err
	}
	return out[""], nil
}

// QueryGroup aggregates one measurement per group of devices; every group key of the
// query is in the result, with an empty slice when its devices have no data.
func (s *Service) QueryGroup(ctx context.Context, q GroupQuery) (map[string][]Point, error) {
	if q.Measurement == "" {
		return nil, citybrain.FieldError("measurement", "测量项为空 measurement is required")
	}
	if len(q.Groups) == 0 {
		return nil, citybrain.FieldError("group", "没有可聚合的设备 no devices to aggregate")
	}
	if q.Step <= 0 {
		return nil, citybrain.FieldError("step", "分组聚合需要步长 a group aggregate needs a positive step")
	}
	from, to, err := checkRange(q.From, q.To, q.Step)
	if err != nil {
		return nil, err
	}
	agg, err := checkAgg(q.Agg)
	if err != nil {
		return nil, err
	}
	return s.aggregate(ctx, q.Groups, q.Measurement, from, to, q.Step.Milliseconds(), agg)
}

func checkRange(from, to time.Time, step time.Duration) (int64, int64, error) {
	if from.IsZero() {
		return 0, 0, citybrain.FieldError("from", "缺少开始时间 from is required")
	}
	if to.IsZero() {
		return 0, 0, citybrain.FieldError("to", "缺少结束时间 to is required")
	}
	if !from.Before(to) {
		return 0, 0, citybrain.FieldError("to", "结束时间须晚于开始时间 to must be after from")
	}
	if step < 0 || (step > 0 && step%time.Millisecond != 0) {
		return 0, 0, citybrain.FieldError("step", "步长须为正的整毫秒数 step must be a positive whole number of milliseconds")
	}
	return from.UnixMilli(), to.UnixMilli(), nil
}

func checkAgg(a string) (string, error) {
	if a == "" {
		return AggAvg, nil
	}
	if !ValidAgg(a) {
		return "", citybrain.FieldError("agg", "未知聚合函数 unknown agg %q (avg, min, max, sum, count, last)", a)
	}
	return a, nil
}

// seriesPoints merges a series' chunks and raw points in [from, to), chunk points winning
// on equal timestamps.
func (s *Service) seriesPoints(ctx context.Context, key SeriesKey, from, to int64) ([]Point, error) {
	chunks, err := s.store.ChunkRange(ctx, key, from, to)
	if err != nil {
		return nil, fmt.Errorf("telemetry: query: %w", err)
	}
	var fromChunks []Point
	for _, c := range chunks {
		if len(fromChunks)+c.Count > s.opt.MaxPoints {
			return nil, tooManyPoints(s.opt.MaxPoints)
		}
		it := NewChunkIterator(c.Data)
		var cp []Point
		for it.Next() {
			if p := it.At(); p.TS >= from && p.TS < to {
				cp = append(cp, p)
			}
		}
		if err := it.Err(); err != nil {
			return nil, fmt.Errorf("telemetry: query %s/%s chunk at %d: %w", key.DeviceID, key.Measurement, c.StartTS, err)
		}
		if n := len(fromChunks); n > 0 && len(cp) > 0 && cp[0].TS > fromChunks[n-1].TS {
			fromChunks = append(fromChunks, cp...) // the usual case: chunks in order, disjoint
		} else {
			fromChunks = mergePoints(fromChunks, cp)
		}
	}
	raw, err := s.store.RawRange(ctx, key, from, to)
	if err != nil {
		return nil, fmt.Errorf("telemetry: query: %w", err)
	}
	out := mergePoints(fromChunks, raw)
	if len(out) > s.opt.MaxPoints {
		return nil, tooManyPoints(s.opt.MaxPoints)
	}
	if out == nil {
		out = []Point{}
	}
	return out, nil
}

func tooManyPoints(max int) error {
	return citybrain.Errorf(citybrain.ETOOLARGE, "结果超过 %d 个点，请缩小时间范围或加大步长 more than %d points: narrow the range or set a larger step", max, max)
}

// maxRawGroupDevices bounds group queries that must read raw points and chunks device by
// device (steps that are not whole minutes).
const maxRawGroupDevices = 1000

// aggregate plans and runs a bucketed query for groups of devices.
func (s *Service) aggregate(ctx context.Context, groups map[string][]string, measurement string, from, to, step int64, agg string) (map[string][]Point, error) {
	from = bucketOf(from, step)
	if to%step != 0 {
		to = bucketOf(to, step) + step
	}
	if (to-from)/step > int64(s.opt.MaxPoints) {
		return nil, tooManyPoints(s.opt.MaxPoints)
	}
	req := AggRequest{Measurement: measurement, Groups: groups, From: from, To: to, Step: step, NeedLast: agg == AggLast}
	var parts [][]Bucket
	switch {
	case step%hourMs == 0 || step%minuteMs == 0:
		res := ResMinute
		if step%hourMs == 0 {
			res = ResHour
		}
		// A point is either still raw or folded into the rollups (the compactor moves it
		// atomically), so the two add up without double counting.
		rb, err := s.store.AggregateRollups(ctx, res, req)
		if err != nil {
			return nil, fmt.Errorf("telemetry: query rollups: %w", err)
		}
		raw, err := s.store.AggregateRaw(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("telemetry: query raw: %w", err)
		}
		parts = [][]Bucket{rb, raw}
	default:
		n := 0
		for _, devs := range groups {
			n += len(devs)
		}
		if n > maxRawGroupDevices {
			return nil, citybrain.Errorf(citybrain.ETOOLARGE, "步长不是整分钟时最多聚合 %d 台设备 steps that are not whole minutes aggregate at most %d devices (got %d): use a step of 1m or more", maxRawGroupDevices, maxRawGroupDevices, n)
		}
		var bs []Bucket
		for g, devs := range groups {
			acc := map[int64]*Bucket{}
			for _, d := range devs {
				pts, err := s.seriesPoints(ctx, SeriesKey{d, measurement}, from, to)
				if err != nil {
					return nil, err
				}
				for _, p := range pts {
					t := bucketOf(p.TS, step)
					b := acc[t]
					if b == nil {
						b = &Bucket{Group: g, TS: t}
						acc[t] = b
					}
					b.Fold(Bucket{Count: 1, Min: p.Value, Max: p.Value, Sum: p.Value, Last: p.Value, LastTS: p.TS})
				}
			}
			for _, b := range acc {
				bs = append(bs, *b)
			}
		}
		parts = [][]Bucket{bs}
	}
	return finishBuckets(groups, parts, agg), nil
}

// Fold adds o's points into b (either may be empty); Group and TS are left alone.
func (b *Bucket) Fold(o Bucket) {
	if o.Count == 0 {
		return
	}
	if b.Count == 0 || o.Min < b.Min {
		b.Min = o.Min
	}
	if b.Count == 0 || o.Max > b.Max {
		b.Max = o.Max
	}
	if b.Count == 0 || o.LastTS > b.LastTS {
		b.Last, b.LastTS = o.Last, o.LastTS
	}
	b.Count += o.Count
	b.Sum += o.Sum
}

func finishBuckets(groups map[string][]string, parts [][]Bucket, agg string) map[string][]Point {
	acc := make(map[string]map[int64]*Bucket, len(groups))
	for g := range groups {
		acc[g] = map[int64]*Bucket{}
	}
	for _, part := range parts {
		for _, o := range part {
			m := acc[o.Group]
			if m == nil {
				continue
			}
			b := m[o.TS]
			if b == nil {
				b = &Bucket{Group: o.Group, TS: o.TS}
				m[o.TS] = b
			}
			b.Fold(o)
		}
	}
	out := make(map[string][]Point, len(groups))
	for g, m := range acc {
		pts := make([]Point, 0, len(m))
		for _, b := range m {
			if b.Count == 0 {
				continue
			}
			pts = append(pts, Point{TS: b.TS, Value: aggValue(b, agg)})
		}
		sort.Slice(pts, func(i, j int) bool { return pts[i].TS < pts[j].TS })
		out[g] = pts
	}
	return out
}

func aggValue(b *Bucket, agg string) float64 {
	switch agg {
	case AggMin:
		return b.Min
	case AggMax:
		return b.Max
	case AggSum:
		return b.Sum
	case AggCount:
		return float64(b.Count)
	case AggLast:
		return b.Last
	default:
		return b.Sum / float64(b.Count)
	}
}
