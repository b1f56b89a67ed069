package httpapi

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/assess"
)

// AssessImported answers a system import.
type AssessImported struct {
	System  *assess.System `json:"system"`
	Created bool           `json:"created"` // false when the system equals the latest version
}

// AssessRecompute asks for a period to be (re)computed with the latest system version.
type AssessRecompute struct {
	System string `json:"system"`
	Period string `json:"period"`
}

// AssessDrillResponse is a drill-down: the unit's indicators and the records behind one.
type AssessDrillResponse struct {
	assess.Drill
}

// AssessRoutes serves assessment (评估考核): indicator systems (import is admin-only),
// the metric catalog, manual inputs with evidence, recomputation, results with ranking and
// trends, drill-down to the records behind a score (filtered by the governance Guard for
// the dataset they come from), and exports (CSV, XLSX, printable HTML report).
func AssessRoutes(s *Server, svc *assess.Service) []Route {
	h := assessHandlers{s: s, svc: svc}
	admin := []string{citybrain.RoleAdmin}
	computers := []string{citybrain.RoleAdmin, citybrain.RoleOperator}
	readers := []string{citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleDept, citybrain.RoleAuditor}
	sp := map[string]string{"system": "indicator system id, e.g. wo-street", "period": "2026-Q3, 2026-09, 2026 or 2026-07-01..2026-09-30; default: the latest computed period"}
	return []Route{
		{Method: "GET", Path: "/api/v1/assess/systems", Tag: "assess", Roles: readers, Summary: "List indicator systems and their versions",
			Response: []assess.SystemInfo{}, Handle: h.systems},
		{Method: "GET", Path: "/api/v1/assess/systems/{id}", Tag: "assess", Roles: readers, Summary: "Get an indicator system (latest version, or ?version=N)",
			Query: map[string]string{"version": "a stored version; default the latest"}, Response: assess.System{}, Handle: h.system},
		{Method: "POST", Path: "/api/v1/assess/systems", Tag: "assess", Roles: admin, MaxBody: 1 << 20,
			Summary: "Import an indicator system (YAML or JSON); a changed system becomes a new version, stored results keep theirs",
			Request: assess.System{}, Response: AssessImported{}, Handle: h.importSystem},
		{Method: "GET", Path: "/api/v1/assess/metrics", Tag: "assess", Roles: readers, Summary: "The platform metrics formulas can use",
			Response: []assess.MetricInfo{}, Handle: h.metrics},
		{Method: "POST", Path: "/api/v1/assess/manual", Tag: "assess", Roles: admin, MaxBody: 64 << 10,
			Summary: "Enter a manual indicator value (实地考察, 问卷, maturity score) with evidence",
			Request: assess.ManualInput{}, Response: assess.ManualInput{}, Handle: h.putManual},
		{Method: "GET", Path: "/api/v1/assess/manual", Tag: "assess", Roles: readers, Summary: "Manual inputs of a system and period with their evidence",
			Query: sp, Response: []assess.ManualInput{}, Handle: h.listManual},
		{Method: "POST", Path: "/api/v1/assess/recompute", Tag: "assess", Roles: computers,
			Summary: "Recompute a period with the latest system version (replaces that period's stored results)",
			Request: AssessRecompute{}, Response: assess.Report{}, Handle: h.recompute},
		{Method: "GET", Path: "/api/v1/assess/periods", Tag: "assess", Roles: readers, Summary: "Computed periods of a system, oldest first",
			Query: map[string]string{"system": "indicator system id"}, Response: []assess.Run{}, Handle: h.periods},
		{Method: "GET", Path: "/api/v1/assess/results", Tag: "assess", Roles: readers,
			Summary: "Stored results of a period: ranking (or not ranked, with the reason), grades, delta vs the previous period",
			Query:   sp, Response: assess.Report{}, Handle: h.results},
		{Method: "GET", Path: "/api/v1/assess/results/{unit}/trend", Tag: "assess", Roles: readers, Summary: "A unit's stored results over time",
			Query: map[string]string{"system": "indicator system id"}, Response: []assess.TrendPoint{}, Handle: h.trend},
		{Method: "GET", Path: "/api/v1/assess/drill", Tag: "assess", Roles: readers, Dataset: "workorders",
			Summary: "Explain a unit's score: indicators, metric values and the records behind one indicator (filtered by governance)",
			Query: map[string]string{"system": "indicator system id", "period": "period", "unit": "unit code", "indicator": "indicator id (optional)",
				"limit": "records, 1–1000 (default 200)"},
			Response: AssessDrillResponse{}, Handle: h.drill},
		{Method: "GET", Path: "/api/v1/assess/export", Tag: "assess", Roles: readers, Raw: true,
			Query:   map[string]string{"system": sp["system"], "period": sp["period"], "format": "csv (default) or xlsx"},
			Summary: "Export a period's results as CSV (UTF-8 with BOM) or XLSX", Handle: h.export},
		{Method: "GET", Path: "/api/v1/assess/report", Tag: "assess", Roles: readers, Raw: true, Query: sp,
			Summary: "A printable HTML report of a period with inline SVG charts", Handle: h.report},
	}
}

type assessHandlers struct {
	s   *Server
	svc *assess.Service
}

func actorName(r *http.Request) string {
	if a := citybrain.ActorFrom(r.Context()); a != nil {
		if a.Username != "" {
			return a.Username
		}
		return strconv.FormatInt(a.UserID, 10)
	}
	return ""
}

func (h assessHandlers) systems(w http.ResponseWriter, r *http.Request) error {
	out, err := h.svc.Systems(r.Context())
	if err != nil {
		return err
	}
	if out == nil {
		out = []assess.SystemInfo{}
	}
	return JSON(w, http.StatusOK, out)
}

func (h assessHandlers) system(w http.ResponseWriter, r *http.Request) error {
	v := 0
	if s := r.URL.Query().Get("version"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return citybrain.FieldError("version", "version must be a positive integer")
		}
		v = n
	}
	sys, err := h.svc.System(r.Context(), r.PathValue("id"), v)
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, sys)
}

func (h assessHandlers) importSystem(w http.ResponseWriter, r *http.Request) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return citybrain.Errorf(citybrain.ETOOLARGE, "指标体系文件过大 / the system document is too large")
		}
		return citybrain.Errorf(citybrain.EINVALID, "cannot read the body: %v", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return citybrain.FieldError("body", "请上传 YAML 或 JSON 指标体系 / send the system as YAML or JSON")
	}
	sys, created, err := h.svc.Import(r.Context(), b, actorName(r))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return JSON(w, status, AssessImported{System: sys, Created: created})
}

func (h assessHandlers) metrics(w http.ResponseWriter, r *http.Request) error {
	return JSON(w, http.StatusOK, assess.Catalog())
}

func (h assessHandlers) putManual(w http.ResponseWriter, r *http.Request) error {
	var m assess.ManualInput
	if err := DecodeJSON(r, &m); err != nil {
		return err
	}
	m.EnteredBy = actorName(r)
	out, err := h.svc.PutManual(r.Context(), m)
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, out)
}

func (h assessHandlers) listManual(w http.ResponseWriter, r *http.Request) error {
	sys, period, err := h.pick(r)
	if err != nil {
		return err
	}
	out, err := h.svc.ManualInputs(r.Context(), sys, period)
	if err != nil {
		return err
	}
	if out == nil {
		out = []assess.ManualInput{}
	}
	return JSON(w, http.StatusOK, out)
}

func (h assessHandlers) recompute(w http.ResponseWriter, r *http.Request) error {
	var q AssessRecompute
	if err := DecodeJSON(r, &q); err != nil {
		return err
	}
	if q.System == "" {
		return citybrain.FieldError("system", "请选择指标体系 / system is required")
	}
	if q.Period == "" {
		return citybrain.FieldError("period", "请选择考核周期 / period is required")
	}
	rep, err := h.svc.Recompute(r.Context(), q.System, q.Period, actorName(r))
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, rep)
}

func (h assessHandlers) periods(w http.ResponseWriter, r *http.Request) error {
	sys := r.URL.Query().Get("system")
	if sys == "" {
		return citybrain.FieldError("system", "system is required")
	}
	out, err := h.svc.Periods(r.Context(), sys)
	if err != nil {
		return err
	}
	if out == nil {
		out = []assess.Run{}
	}
	return JSON(w, http.StatusOK, out)
}

// pick reads system (default wo-street) and period (default the latest computed one).
func (h assessHandlers) pick(r *http.Request) (string, string, error) {
	q := r.URL.Query()
	sys := strings.TrimSpace(q.Get("system"))
	if sys == "" {
		sys = "wo-street"
	}
	period := strings.TrimSpace(q.Get("period"))
	if period == "" {
		runs, err := h.svc.Periods(r.Context(), sys)
		if err != nil {
			return "", "", err
		}
		if len(runs) == 0 {
			return "", "", citybrain.Errorf(citybrain.ENOTFOUND, "%s 尚无计算结果 / %s has no computed periods yet", sys, sys)
		}
		// The latest quarter if there is one, else the latest period.
		period = runs[len(runs)-1].Period
		for i := len(runs) - 1; i >= 0; i-- {
			if strings.Contains(runs[i].Period, "-Q") {
				period = runs[i].Period
				break
			}
		}
	}
	return sys, period, nil
}

func (h assessHandlers) results(w http.ResponseWriter, r *http.Request) error {
	sys, period, err := h.pick(r)
	if err != nil {
		return err
	}
	rep, err := h.svc.Results(r.Context(), sys, period)
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, rep)
}

func (h assessHandlers) trend(w http.ResponseWriter, r *http.Request) error {
	sys := r.URL.Query().Get("system")
	if sys == "" {
		sys = "wo-street"
	}
	out, err := h.svc.Trend(r.Context(), sys, r.PathValue("unit"))
	if err != nil {
		return err
	}
	if out == nil {
		out = []assess.TrendPoint{}
	}
	return JSON(w, http.StatusOK, out)
}

// evidenceDataset names the governance dataset of a drill-down's records.
func evidenceDataset(e string) string {
	switch e {
	case "workorders", "devices", "alerts":
		return e
	}
	return ""
}

func (h assessHandlers) drill(w http.ResponseWriter, r *http.Request) error {
	sys, period, err := h.pick(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	unit := q.Get("unit")
	if unit == "" {
		return citybrain.FieldError("unit", "unit is required")
	}
	limit := 200
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return citybrain.FieldError("limit", "limit must be 1–1000")
		}
		limit = n
	}
	d, err := h.svc.Drill(r.Context(), sys, period, unit, q.Get("indicator"), limit)
	if err != nil {
		return err
	}
	// A department sees the records of its own orders only (as on the work-order routes).
	if a := citybrain.ActorFrom(r.Context()); a != nil && a.Role == citybrain.RoleDept && d.Evidence == "workorders" {
		own := d.Records[:0]
		for _, rec := range d.Records {
			if rec.LeadDept == a.Department {
				own = append(own, rec)
			}
		}
		if len(own) < len(d.Records) {
			d.Note = "仅显示本单位承办的工单 / only your department's orders are listed"
		}
		d.Records = own
	}
	// The records are stored data: pass them through the Guard of the dataset they come
	// from (work orders, devices, alerts). Sharing metadata and manual inputs are not
	// personal records and carry no dataset, as on the governance routes.
	var records any = d.Records
	ds := evidenceDataset(d.Evidence)
	if d.Evidence == "" {
		ds = "workorders" // the unit overview carries no records; still answered through the Guard
	}
	if ds != "" {
		if records, err = h.s.Filter(r, ds, d.Records); err != nil {
			return err
		}
	}
	out := map[string]any{"system": d.System, "run": d.Run, "unit": d.Unit, "result": d.Result, "indicators": d.Indicators,
		"selected": d.Selected, "evidence": d.Evidence, "records": records, "total": d.Total, "manual": d.Manual, "note": d.Note}
	return JSON(w, http.StatusOK, out)
}

func (h assessHandlers) export(w http.ResponseWriter, r *http.Request) error {
	sys, period, err := h.pick(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "xlsx" {
		return citybrain.FieldError("format", "format must be csv or xlsx")
	}
	rep, err := h.svc.Results(r.Context(), sys, period)
	if err != nil {
		return err
	}
	name := "assess-" + sys + "-" + strings.ReplaceAll(rep.Run.Period, "..", "_") + "." + format
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	if format == "xlsx" {
		var buf bytes.Buffer
		if err := rep.WriteXLSX(&buf); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		_, err = w.Write(buf.Bytes())
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	return rep.WriteCSV(w)
}

func (h assessHandlers) report(w http.ResponseWriter, r *http.Request) error {
	sys, period, err := h.pick(r)
	if err != nil {
		return err
	}
	rep, err := h.svc.Results(r.Context(), sys, period)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := rep.WriteHTML(&buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, err = w.Write(buf.Bytes())
	return err
}
