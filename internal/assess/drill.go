package assess

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/citybrain/citybrain"
)

// DrillIndicator is one indicator of a unit's result, with its definition.
type DrillIndicator struct {
	Indicator
	Score    float64  `json:"score"`
	Value    float64  `json:"value"`
	NoData   bool     `json:"no_data,omitempty"`
	Children []string `json:"children,omitempty"`
	// MetricInfo describes the platform metric of a leaf.
	MetricInfo *MetricInfo `json:"metric_info,omitempty"`
}

// Drill explains a unit's score: every indicator with its score and, for the chosen
// indicator, the metric value and the records behind it.
type Drill struct {
	System     SystemInfo       `json:"system"`
	Run        Run              `json:"run"`
	Unit       Unit             `json:"unit"`
	Result     Result           `json:"result"`
	Indicators []DrillIndicator `json:"indicators"`
	// Selected is the indicator asked for ("" when none): its records follow.
	Selected string        `json:"selected,omitempty"`
	Evidence string        `json:"evidence,omitempty"` // workorders, devices, alerts, sharing, manual
	Records  []Record      `json:"records"`
	Total    int           `json:"total"` // records in all (Records holds at most the limit)
	Manual   []ManualInput `json:"manual,omitempty"`
	Note     string        `json:"note,omitempty"`
}

// Drill returns the explanation of one unit's result in a period; indicator "" lists the
// indicators only. limit caps the records (default 200).
func (s *Service) Drill(ctx context.Context, systemID, period, unit, indicator string, limit int) (*Drill, error) {
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	rep, err := s.Results(ctx, systemID, period)
	if err != nil {
		return nil, err
	}
	var res *Result
	for i := range rep.Results {
		if rep.Results[i].Unit == unit {
			res = &rep.Results[i]
		}
	}
	if res == nil {
		return nil, citybrain.Errorf(citybrain.ENOTFOUND, "%s 在 %s 没有 %s 的结果 / no result for unit %s in %s", systemID, rep.Run.Period, unit, unit, rep.Run.Period)
	}
	sys, err := s.cfg.Repo.GetSystem(ctx, systemID, rep.Run.Version)
	if err != nil {
		return nil, err
	}
	d := &Drill{System: rep.System, Run: rep.Run, Unit: s.cfg.Directory().Unit(sys.UnitKind, unit), Result: *res, Records: []Record{}}
	scores := map[string]IndicatorScore{}
	for _, is := range res.Indicators {
		scores[is.ID] = is
	}
	kids := map[string][]string{}
	for _, ind := range sys.Indicators {
		kids[ind.Parent] = append(kids[ind.Parent], ind.ID)
	}
	cat := map[string]MetricInfo{}
	for _, m := range Catalog() {
		cat[m.Name] = m
	}
	for _, ind := range sys.Indicators {
		sc := scores[ind.ID]
		di := DrillIndicator{Indicator: *ind, Score: sc.Score, Value: sc.Value, NoData: sc.NoData, Children: kids[ind.ID]}
		if mi, ok := cat[ind.Metric]; ok {
			mi := mi
			di.MetricInfo = &mi
		}
		d.Indicators = append(d.Indicators, di)
	}
	if indicator == "" {
		return d, nil
	}
	ind := sys.find(indicator)
	if ind == nil {
		return nil, citybrain.FieldError("indicator", "指标体系 %s 没有指标 %s / system %s has no indicator %s", systemID, indicator, systemID, indicator)
	}
	d.Selected = ind.ID
	if len(kids[ind.ID]) > 0 {
		d.Note = "该指标由下级指标加权得出，请选择下级指标查看明细 / a composite indicator: pick one of its children to see records"
		return d, nil
	}
	if ind.Manual {
		d.Evidence = "manual"
		ms, err := s.cfg.Repo.ManualInputs(ctx, systemID, rep.Run.Period)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if m.Unit == unit && m.Indicator == ind.ID {
				d.Manual = append(d.Manual, m)
			}
		}
		if len(d.Manual) == 0 {
			d.Note = "尚未录入，本指标不计分（权重按其余指标重新分配）/ not entered yet: the indicator is left out and the other weights renormalised"
		}
		return d, nil
	}
	d.Evidence = cat[ind.Metric].Evidence
	q := RecordQuery{Metric: ind.Metric, Kind: sys.UnitKind, Unit: unit, From: rep.Run.From, To: rep.Run.To, Now: s.cfg.Now().UTC(), Limit: limit}
	switch d.Evidence {
	case "workorders":
		d.Records, d.Total, err = s.cfg.Repo.WorkOrderRecords(ctx, q)
	case "alerts":
		q.Areas = s.areasUnder(sys.UnitKind, unit)
		d.Records, d.Total, err = s.cfg.Repo.AlertRecords(ctx, q, s.cfg.AckWithin)
	case "devices":
		if ind.Metric == "dev_mttr_hours" {
			q.Areas = s.areasUnder(sys.UnitKind, unit)
			d.Evidence = "alerts"
			d.Records, d.Total, err = s.cfg.Repo.AlertRecords(ctx, q, s.cfg.AckWithin)
		} else {
			d.Records, d.Total, err = s.deviceRecords(ctx, sys.UnitKind, unit, ind.Metric, limit)
		}
	case "sharing":
		d.Records, d.Total, err = s.sharingRecords(ctx, q)
	}
	if err != nil {
		return nil, err
	}
	if d.Records == nil {
		d.Records = []Record{}
	}
	if d.Total == 0 {
		d.Note = "没有拉低该指标的记录 / no records pull this indicator down"
	}
	return d, nil
}

// areasUnder lists every area code inside a street or community (itself included).
func (s *Service) areasUnder(kind, unit string) []string {
	dir := s.cfg.Directory()
	var out []string
	for code := range dir.nodes {
		if dir.Resolve(kind, code) == unit {
			out = append(out, code)
		}
	}
	sort.Strings(out)
	return out
}

func (s *Service) deviceRecords(ctx context.Context, kind, unit, metric string, limit int) ([]Record, int, error) {
	devs, err := s.cfg.Repo.DeviceRows(ctx)
	if err != nil {
		return nil, 0, err
	}
	dir := s.cfg.Directory()
	var out []Record
	for _, d := range devs {
		if d.Disabled || dir.Resolve(kind, d.Area) != unit {
			continue
		}
		st, seen := "unknown", time.Time{}
		if s.cfg.DeviceState != nil {
			st, seen = s.cfg.DeviceState(d.ID)
		}
		var why string
		switch {
		case st == "silent":
			why = "沉默：超过 2.5 倍上报周期无数据 / silent: nothing for 2.5 × its report interval"
		case metric == "dev_online_rate" && st == "offline":
			why = "离线 / offline"
		case metric == "dev_online_rate" && st == "never_seen":
			why = "注册后从未上线 / registered but never seen"
		case metric == "dev_registered":
			why = "已注册 / registered"
		default:
			continue
		}
		if metric == "dev_silent" || metric == "dev_silent_rate" {
			if st != "silent" {
				continue
			}
		}
		out = append(out, Record{Kind: "device", ID: d.ID, Name: d.Name, Category: d.Profile, State: st, Area: d.Area, LastSeen: seen, Why: why})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].State != out[j].State {
			return out[i].State > out[j].State
		}
		return out[i].ID < out[j].ID
	})
	total := len(out)
	if len(out) > limit {
		out = out[:limit]
	}
	return out, total, nil
}

func (s *Service) sharingRecords(ctx context.Context, q RecordQuery) ([]Record, int, error) {
	var out []Record
	switch q.Metric {
	case "gov_share_ontime_rate":
		reqs, err := s.cfg.Repo.SharingRequests(ctx, q.From, q.To)
		if err != nil {
			return nil, 0, err
		}
		for _, r := range reqs {
			if r.Owner != q.Unit {
				continue
			}
			var why string
			switch {
			case r.DecidedAt.IsZero() && q.Now.After(r.AnswerDue):
				why = fmt.Sprintf("超过答复期限 %s 仍未答复 / unanswered past its due date", r.AnswerDue.Format("2006-01-02"))
			case !r.DecidedAt.IsZero() && r.DecidedAt.After(r.AnswerDue):
				why = fmt.Sprintf("逾期答复（期限 %s）/ answered late", r.AnswerDue.Format("2006-01-02"))
			default:
				continue
			}
			out = append(out, Record{Kind: "sharing_request", ID: fmt.Sprint(r.ID), Name: r.Dataset, State: r.State,
				CreatedAt: r.CreatedAt, Deadline: r.AnswerDue, RespondedAt: r.DecidedAt, Why: why + " · " + r.Requester})
		}
	default:
		dss, err := s.cfg.Repo.Datasets(ctx)
		if err != nil {
			return nil, 0, err
		}
		for _, d := range dss {
			if d.Owner != q.Unit {
				continue
			}
			why := ""
			switch {
			case q.Metric == "gov_graded_rate" && !d.Graded:
				why = "有字段未确认分级 / some columns are not graded"
			case q.Metric == "gov_sharing_rate" && d.Sharing == "none":
				why = "不予共享 / not shared"
			case q.Metric == "gov_datasets":
				why = "已编目 / catalogued"
			default:
				continue
			}
			out = append(out, Record{Kind: "dataset", ID: d.Name, Name: d.Title, State: d.Sharing, Why: why})
		}
	}
	total := len(out)
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, total, nil
}
