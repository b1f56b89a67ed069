package assess

import (
	"context"
	"time"
)

// SystemInfo describes one stored version of an indicator system.
type SystemInfo struct {
	ID        string    `json:"id"`
	Version   int       `json:"version"`
	NameZH    string    `json:"name_zh"`
	NameEN    string    `json:"name_en"`
	UnitKind  string    `json:"unit_kind"`
	Latest    bool      `json:"latest"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// ManualInput is a value entered by a person for a manual indicator (实地考察, 问卷, maturity
// scores) with the evidence behind it. Later entries for the same key replace earlier ones.
type ManualInput struct {
	System      string    `json:"system"`
	Period      string    `json:"period"`
	Unit        string    `json:"unit"`
	Indicator   string    `json:"indicator"`
	Value       float64   `json:"value"`
	Evidence    string    `json:"evidence"`               // what was done: "2026-09-12 实地考察 12 处点位…"
	EvidenceURL string    `json:"evidence_url,omitempty"` // a link to the photos, forms or report
	EnteredBy   string    `json:"entered_by"`
	EnteredAt   time.Time `json:"entered_at"`
}

// Run is one stored computation of a system for a period.
type Run struct {
	System     string    `json:"system"`
	Version    int       `json:"version"`
	Period     string    `json:"period"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	ComputedAt time.Time `json:"computed_at"`
	ComputedBy string    `json:"computed_by,omitempty"`
}

// TrendPoint is a unit's stored result in one period.
type TrendPoint struct {
	Period  string    `json:"period"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Version int       `json:"version"`
	Total   float64   `json:"total"`
	Grade   string    `json:"grade"`
	Rank    int       `json:"rank,omitempty"`
	Ranked  bool      `json:"ranked"`
}

// UnitMetrics are the computed platform metrics of one unit.
type UnitMetrics struct {
	Unit    string
	Metrics map[string]float64
}

// DeviceRow is a registered device as the device metrics need it.
type DeviceRow struct {
	ID       string
	Name     string
	Profile  string
	Area     string
	Disabled bool
}

// AlertAgg counts the alerts raised in one area code in a period.
type AlertAgg struct {
	Area      string
	Device    bool // alerts about a device (they feed the mean time to repair)
	Count     int
	AckDue    int   // alerts whose acknowledgement was due (acknowledged, or the window passed)
	AckOnTime int   // acknowledged (or resolved) within the window
	Resolved  int   // resolved
	ResolveMs int64 // sum of fired → resolved
}

// DatasetRow is a catalogued dataset as governance metrics need it.
type DatasetRow struct {
	Name    string
	Title   string
	Owner   string
	Sharing string
	Graded  bool // every column has a confirmed grade
}

// RequestRow is a data-sharing request as governance metrics need it.
type RequestRow struct {
	ID        int64
	Dataset   string
	Owner     string
	Requester string
	State     string
	CreatedAt time.Time
	AnswerDue time.Time
	DecidedAt time.Time
}

// RecordQuery selects the records behind a metric for one unit.
type RecordQuery struct {
	Metric string
	Kind   string   // unit kind
	Unit   string   // unit code
	Areas  []string // for area kinds: every area code inside the unit (alerts)
	From   time.Time
	To     time.Time
	Now    time.Time
	Limit  int
}

// Record is one work order, device, alert or sharing request behind a metric, with the
// reason it counts against the unit.
type Record struct {
	Kind        string    `json:"kind"` // workorder, device, alert, dataset, sharing_request, manual
	ID          string    `json:"id"`
	TrackingNo  string    `json:"tracking_no,omitempty"`
	Name        string    `json:"name,omitempty"`
	Category    string    `json:"category,omitempty"`
	State       string    `json:"state,omitempty"`
	LeadDept    string    `json:"lead_dept,omitempty"`
	Street      string    `json:"street,omitempty"`
	Area        string    `json:"area,omitempty"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
	Deadline    time.Time `json:"deadline,omitzero"`
	RespondedAt time.Time `json:"responded_at,omitzero"`
	ClosedAt    time.Time `json:"closed_at,omitzero"`
	LastSeen    time.Time `json:"last_seen,omitzero"`
	Value       float64   `json:"value,omitempty"`
	Why         string    `json:"why"`
}

// Repository stores systems, manual inputs and results and computes the platform metrics.
// Implementations (internal/store) must be safe for concurrent use.
type Repository interface {
	// SaveSystem stores s as a new version unless it equals the latest stored version; it
	// sets s.Version to the stored version and reports whether a new one was created.
	SaveSystem(ctx context.Context, s *System, by string) (created bool, err error)
	// GetSystem returns a version of a system (0 = the latest), ENOTFOUND if unknown.
	GetSystem(ctx context.Context, id string, version int) (*System, error)
	ListSystems(ctx context.Context) ([]SystemInfo, error)

	PutManual(ctx context.Context, m ManualInput) error
	ManualInputs(ctx context.Context, system, period string) ([]ManualInput, error)

	// SyncWorkOrderFacts brings the facts table up to date with orders created or updated
	// since the stored watermark (and the daily roll-up, by local day in loc). resolve maps
	// an area code to its street and community.
	SyncWorkOrderFacts(ctx context.Context, loc *time.Location, resolve func(code string) (street, community string)) (int, error)
	// WorkOrderMetrics aggregates the facts of orders created in [from, to) per unit of kind.
	WorkOrderMetrics(ctx context.Context, kind string, from, to, now time.Time) ([]UnitMetrics, error)
	AlertAggregates(ctx context.Context, from, to, now time.Time, ackWithin time.Duration) ([]AlertAgg, error)
	DeviceRows(ctx context.Context) ([]DeviceRow, error)
	Datasets(ctx context.Context) ([]DatasetRow, error)
	SharingRequests(ctx context.Context, from, to time.Time) ([]RequestRow, error)
	// WorkOrderRecords and AlertRecords list the records behind a metric (q.Metric) and
	// how many there are in all.
	WorkOrderRecords(ctx context.Context, q RecordQuery) ([]Record, int, error)
	AlertRecords(ctx context.Context, q RecordQuery, ackWithin time.Duration) ([]Record, int, error)

	// SaveResults replaces the stored results of (run.System, run.Period).
	SaveResults(ctx context.Context, run Run, rs []Result) error
	// Results returns the stored run and results of a period, ENOTFOUND if never computed.
	Results(ctx context.Context, system, period string) (Run, []Result, error)
	Trend(ctx context.Context, system, unit string) ([]TrendPoint, error)
	Periods(ctx context.Context, system string) ([]Run, error)
}
