package httpapi

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/telemetry"
)

// TelemetryDirectory tells the telemetry routes which devices exist and where they are; the
// device registry with the area map provides it.
type TelemetryDirectory interface {
	// Member returns one device's place, or an ENOTFOUND error for an unknown device.
	Member(ctx context.Context, id string) (telemetry.Member, error)
	// Members returns every device with the profile ("" for all profiles).
	Members(ctx context.Context, profile string) ([]telemetry.Member, error)
	// GroupName returns a display name for a group key ("" when it has none).
	GroupName(by, key string) string
}

// LatestValue is a measurement's latest value and when it was seen.
type LatestValue struct {
	TS    int64     `json:"ts"`
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}

// LatestReply is a device's live state per measurement.
type LatestReply struct {
	DeviceID     string                 `json:"device_id"`
	LastSeen     *time.Time             `json:"last_seen"`
	Measurements map[string]LatestValue `json:"measurements"`
}

// SeriesReply is one measurement of one device over a range: stored points when Step is
// empty, else one aggregated point per bucket (ts = bucket start, epoch ms).
type SeriesReply struct {
	DeviceID    string            `json:"device_id"`
	Measurement string            `json:"measurement"`
	From        time.Time         `json:"from"`
	To          time.Time         `json:"to"`
	Step        string            `json:"step,omitempty"`
	Agg         string            `json:"agg,omitempty"`
	Points      []telemetry.Point `json:"points"`
}

// GroupSeries is one group of an aggregate.
type GroupSeries struct {
	Key     string            `json:"key"`
	Name    string            `json:"name,omitempty"`
	Devices int               `json:"devices"`
	Points  []telemetry.Point `json:"points"`
}

// AggregateReply is a measurement aggregated per group of devices.
type AggregateReply struct {
	Measurement string        `json:"measurement"`
	Profile     string        `json:"profile,omitempty"`
	Area        string        `json:"area,omitempty"`
	Group       string        `json:"group"`
	From        time.Time     `json:"from"`
	To          time.Time     `json:"to"`
	Step        string        `json:"step"`
	Agg         string        `json:"agg"`
	Groups      []GroupSeries `json:"groups"`
}

type telemetryHandlers struct {
	s   *Server
	svc *telemetry.Service
	dir TelemetryDirectory
	now func() time.Time
}

// TelemetryRoutes serves live state, history and aggregates, as JSON or CSV (?format=csv).
func TelemetryRoutes(s *Server, svc *telemetry.Service, dir TelemetryDirectory, now func() time.Time) []Route {
	h := telemetryHandlers{s: s, svc: svc, dir: dir, now: now}
	staff := []string{citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleDept, citybrain.RoleWorker, citybrain.RoleAuditor}
	rangeQuery := map[string]string{
		"from":   "start, RFC 3339 or epoch ms (default: to − 24 h)",
		"to":     "end, exclusive (default: now)",
		"step":   "bucket width: 30s, 1m, 15m, 1h, 1d… or milliseconds (60000) (empty: stored points)",
		"agg":    "avg (default), min, max, sum, count, last",
		"format": "json (default) or csv",
	}
	aggQuery := map[string]string{
		"measurement": "measurement key, e.g. pm25 (required)",
		"group":       "street (default), community, grid or profile",
		"profile":     "only devices of this profile",
		"area":        "only devices inside this area code",
	}
	for k, v := range rangeQuery {
		aggQuery[k] = v
	}
	aggQuery["step"] = "bucket width (default 1h)"
	return []Route{
		{Method: "GET", Path: "/api/v1/devices/{id}/telemetry/latest", Tag: "telemetry", Roles: staff, Dataset: "telemetry",
			Summary:  "Latest value and last-seen time of each measurement of a device (最新读数)",
			Response: LatestReply{}, Handle: h.latest},
		{Method: "GET", Path: "/api/v1/devices/{id}/telemetry/{measurement}", Tag: "telemetry", Roles: staff, Dataset: "telemetry",
			Summary: "History of one measurement of a device, raw or aggregated per step (历史数据); CSV with format=csv",
			Query:   rangeQuery, Response: SeriesReply{}, Handle: h.series},
		{Method: "GET", Path: "/api/v1/telemetry/aggregate", Tag: "telemetry", Roles: staff, Dataset: "telemetry",
			Summary: "A measurement aggregated across devices per street, community, grid or profile (分组统计); CSV with format=csv",
			Query:   aggQuery, Response: AggregateReply{}, Handle: h.aggregate},
	}
}

func (h telemetryHandlers) latest(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := h.dir.Member(r.Context(), id); err != nil {
		return err
	}
	l, err := h.svc.Latest(r.Context(), id)
	if err != nil {
		return err
	}
	rep := LatestReply{DeviceID: id, Measurements: make(map[string]LatestValue, len(l))}
	var seen int64
	for m, p := range l {
		rep.Measurements[m] = LatestValue{TS: p.TS, Time: time.UnixMilli(p.TS).UTC(), Value: p.Value}
		seen = max(seen, p.TS)
	}
	if seen > 0 {
		t := time.UnixMilli(seen).UTC()
		rep.LastSeen = &t
	}
	return h.s.Reply(w, r, http.StatusOK, rep)
}

// rangeParams reads from, to, step, agg and format.
type rangeParams struct {
	from, to time.Time
	step     time.Duration
	stepText string
	agg      string
	csv      bool
}

func (h telemetryHandlers) params(r *http.Request, defaultStep string) (rangeParams, error) {
	q := r.URL.Query()
	var p rangeParams
	var err error
	if p.to, err = ParseTime("to", q.Get("to")); err != nil {
		return p, err
	}
	if p.to.IsZero() {
		p.to = h.now()
	}
	if p.from, err = ParseTime("from", q.Get("from")); err != nil {
		return p, err
	}
	if p.from.IsZero() {
		p.from = p.to.Add(-24 * time.Hour)
	}
	if !p.from.Before(p.to) {
		return p, citybrain.FieldError("from", "开始时间须早于结束时间 from (%s) must be before to (%s)", p.from.Format(time.RFC3339), p.to.Format(time.RFC3339))
	}
	p.stepText = q.Get("step")
	if p.stepText == "" {
		p.stepText = defaultStep
	}
	if p.step, err = ParseStep(p.stepText); err != nil {
		return p, err
	}
	p.agg = q.Get("agg")
	if p.agg != "" && !telemetry.ValidAgg(p.agg) {
		return p, citybrain.FieldError("agg", "未知聚合函数 unknown agg %q: use avg, min, max, sum, count or last", p.agg)
	}
	if p.step > 0 && p.agg == "" {
		p.agg = telemetry.AggAvg
	}
	if p.step == 0 && p.agg != "" {
		return p, citybrain.FieldError("step", "agg=%s 需要步长 needs a step, e.g. step=1h", p.agg)
	}
	switch f := q.Get("format"); f {
	case "", "json":
	case "csv":
		p.csv = true
	default:
		return p, citybrain.FieldError("format", "format must be json or csv, got %q", f)
	}
	return p, nil
}

// ParseStep reads a bucket width: a Go duration ("90s", "15m", "1h"), a number of days
// ("1d", "7d"), a bare number of milliseconds ("60000"), or "" for none. It must be a whole number of milliseconds, at least 1 s.
func ParseStep(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	var d time.Duration
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		// A bare number is milliseconds, like the API's epoch-millisecond times.
		if ms < 1000 || ms > 3660*24*3600*1000 {
			return 0, citybrain.FieldError("step", "step %q: a bare number is milliseconds, from 1000 (1s) up; or use 30s, 1m, 15m, 1h or 1d", s)
		}
		return time.Duration(ms) * time.Millisecond, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 || days > 3660 {
			return 0, citybrain.FieldError("step", "step %q: days must be a whole number from 1 to 3660, e.g. 1d", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, citybrain.FieldError("step", "step %q is not a duration: use 30s, 1m, 15m, 1h or 1d", s)
		}
	}
	if d < time.Second || d%time.Millisecond != 0 {
		return 0, citybrain.FieldError("step", "step %q must be at least 1s and a whole number of milliseconds", s)
	}
	return d, nil
}

func (h telemetryHandlers) series(w http.ResponseWriter, r *http.Request) error {
	id, m := r.PathValue("id"), r.PathValue("measurement")
	p, err := h.params(r, "")
	if err != nil {
		return err
	}
	if _, err := h.dir.Member(r.Context(), id); err != nil {
		return err
	}
	pts, err := h.svc.Query(r.Context(), telemetry.Query{DeviceID: id, Measurement: m, From: p.from, To: p.to, Step: p.step, Agg: p.agg})
	if err != nil {
		return err
	}
	stepText := p.stepText
	if p.step == 0 {
		stepText = ""
	}
	rep := SeriesReply{DeviceID: id, Measurement: m, From: p.from.UTC(), To: p.to.UTC(), Step: stepText, Agg: p.agg, Points: pts}
	if !p.csv {
		return h.s.Reply(w, r, http.StatusOK, rep)
	}
	if err := h.filter(r, &rep); err != nil {
		return err
	}
	cw := startCSV(w, fmt.Sprintf("%s_%s.csv", safeName(id), safeName(m)), []string{"device_id", "measurement", "ts", "time", "value"})
	for _, pt := range rep.Points {
		cw.Write([]string{rep.DeviceID, rep.Measurement, strconv.FormatInt(pt.TS, 10), time.UnixMilli(pt.TS).UTC().Format(time.RFC3339Nano), formatValue(pt.Value)})
	}
	cw.Flush()
	return nil
}

func (h telemetryHandlers) aggregate(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	m := q.Get("measurement")
	if m == "" {
		return citybrain.FieldError("measurement", "缺少测量项 measurement is required, e.g. measurement=pm25")
	}
	by := q.Get("group")
	if by == "" {
		by = telemetry.GroupStreet
	}
	p, err := h.params(r, "1h")
	if err != nil {
		return err
	}
	if p.step == 0 {
		return citybrain.FieldError("step", "分组统计需要步长 an aggregate needs a step, e.g. step=1h")
	}
	profile, areaCode := q.Get("profile"), q.Get("area")
	members, err := h.dir.Members(r.Context(), profile)
	if err != nil {
		return err
	}
	if areaCode != "" {
		kept := members[:0:0]
		for _, mb := range members {
			if mb.In(areaCode) {
				kept = append(kept, mb)
			}
		}
		members = kept
	}
	groups, err := telemetry.GroupMembers(members, by)
	if err != nil {
		return err
	}
	rep := AggregateReply{Measurement: m, Profile: profile, Area: areaCode, Group: by, From: p.from.UTC(), To: p.to.UTC(), Step: p.stepText, Agg: p.agg, Groups: []GroupSeries{}}
	if len(groups) > 0 {
		res, err := h.svc.QueryGroup(r.Context(), telemetry.GroupQuery{Groups: groups, Measurement: m, From: p.from, To: p.to, Step: p.step, Agg: p.agg})
		if err != nil {
			return err
		}
		for k, ids := range groups {
			rep.Groups = append(rep.Groups, GroupSeries{Key: k, Name: h.dir.GroupName(by, k), Devices: len(ids), Points: res[k]})
		}
		sort.Slice(rep.Groups, func(i, j int) bool { return rep.Groups[i].Key < rep.Groups[j].Key })
	}
	if !p.csv {
		return h.s.Reply(w, r, http.StatusOK, rep)
	}
	if err := h.filter(r, &rep); err != nil {
		return err
	}
	cw := startCSV(w, fmt.Sprintf("%s_by_%s.csv", safeName(m), by), []string{"group", "name", "devices", "ts", "time", "value"})
	for _, g := range rep.Groups {
		for _, pt := range g.Points {
			cw.Write([]string{g.Key, g.Name, strconv.Itoa(g.Devices), strconv.FormatInt(pt.TS, 10), time.UnixMilli(pt.TS).UTC().Format(time.RFC3339), formatValue(pt.Value)})
		}
	}
	cw.Flush()
	return nil
}

// filter passes a reply through the governance guard and reads the result back into it, so
// CSV exports carry exactly what the JSON reply would.
func (h telemetryHandlers) filter(r *http.Request, v any) error {
	f, err := h.s.Filter(r, "telemetry", v)
	if err != nil {
		return err
	}
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("telemetry csv: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("telemetry csv: %w", err)
	}
	return nil
}

// startCSV writes the headers and a UTF-8 byte-order mark (so spreadsheet programs read the
// Chinese names) and returns a writer with the header row written.
func startCSV(w http.ResponseWriter, filename string, header []string) *csv.Writer {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("\ufeff"))
	cw := csv.NewWriter(w)
	cw.Write(header)
	return cw
}

func formatValue(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// safeName keeps a file name to letters, digits, '-', '_' and '.'.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, s)
}
