package workorder

import (
	"context"
	"time"
)

// Sources of a work order: all enter through Service.Create.
const (
	SourceCitizen = "citizen" // the public report page
	SourceOpen311 = "open311" // an Open311 client
	SourceAlert   = "alert"   // a rule's alert asked for an order
	SourcePatrol  = "patrol"  // a grid worker's patrol report (巡查上报)
	SourceStaff   = "staff"   // command-center staff (e.g. from a phone call)
)

// Resolutions of a closed order.
const (
	ResolutionFixed          = "fixed"           // 已解决
	ResolutionDuplicate      = "duplicate"       // 重复件/并单
	ResolutionNotResponsible = "not_responsible" // 非职责范围
	ResolutionCancelled      = "cancelled"       // 已撤销
)

// Reporter is one person who reported the problem. Merged orders (并单) keep every reporter
// so all of them are informed.
type Reporter struct {
	OrderID    int64     `json:"order_id,omitempty"` // the order the person originally reported
	UserID     int64     `json:"user_id,omitempty"`
	Name       string    `json:"name,omitempty"`
	Phone      string    `json:"phone,omitempty"`
	Email      string    `json:"email,omitempty"`
	DeviceID   string    `json:"device_id,omitempty"`
	AccountID  string    `json:"account_id,omitempty"`
	Channel    string    `json:"channel"`
	ReportedAt time.Time `json:"reported_at"`
}

// Order is a work order (工单).
type Order struct {
	ID         int64  `json:"id"`
	TrackingNo string `json:"tracking_no"`
	// TokenHash is the SHA-256 of the secret tracking token; the token itself is given to
	// the reporter once and never stored.
	TokenHash string `json:"-"`
	Source    string `json:"source"`
	SourceRef string `json:"source_ref,omitempty"` // e.g. the alert id

	Category    string            `json:"category"`
	Subcategory string            `json:"subcategory,omitempty"`
	Priority    Priority          `json:"priority"`
	Title       string            `json:"title,omitempty"`
	Description string            `json:"description"`
	Attributes  map[string]string `json:"attributes,omitempty"`
	Media       []string          `json:"media,omitempty"`

	HasLocation bool    `json:"has_location"`
	Lon         float64 `json:"lon,omitempty"`
	Lat         float64 `json:"lat,omitempty"`
	Address     string  `json:"address,omitempty"`
	AddressID   string  `json:"address_id,omitempty"`
	Zipcode     string  `json:"zipcode,omitempty"`
	Grid        string  `json:"grid,omitempty"`
	Community   string  `json:"community,omitempty"`
	Street      string  `json:"street,omitempty"`

	State       State    `json:"state"`
	Resolution  string   `json:"resolution,omitempty"`
	DuplicateOf int64    `json:"duplicate_of,omitempty"`
	LeadDept    string   `json:"lead_dept,omitempty"`
	AssistDepts []string `json:"assist_depts,omitempty"`

	Reporters []Reporter `json:"reporters,omitempty"`

	// The assistant's proposal at intake.
	TriageCategory   string   `json:"triage_category,omitempty"`
	TriageConfidence float64  `json:"triage_confidence,omitempty"`
	TriageDept       string   `json:"triage_dept,omitempty"`
	TriageReasons    []string `json:"triage_reasons,omitempty"`

	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	DispatchedAt time.Time `json:"dispatched_at,omitzero"`
	RespondedAt  time.Time `json:"responded_at,omitzero"`
	ClosedAt     time.Time `json:"closed_at,omitzero"`

	// SLA: Deadline is the feedback deadline; RemindAt the 催办 instant. Reminded and
	// Escalated record that the job did its work; NextDue is the earliest instant at which
	// the deadline job must look at the order again (zero when nothing is pending), stored
	// so a restarted process catches up on everything it missed.
	SLAName   string    `json:"sla_name,omitempty"`
	Deadline  time.Time `json:"deadline,omitzero"`
	RemindAt  time.Time `json:"remind_at,omitzero"`
	Reminded  bool      `json:"reminded"`
	Escalated bool      `json:"escalated"`
	NextDue   time.Time `json:"-"`

	ExtensionPending bool      `json:"extension_pending"`
	ExtensionUntil   time.Time `json:"extension_until,omitzero"`

	Rating    int    `json:"rating,omitempty"` // 1..5
	Satisfied *bool  `json:"satisfied,omitempty"`
	Comment   string `json:"rating_comment,omitempty"`

	StatusNotes string `json:"status_notes,omitempty"` // the latest public note (Open311 status_notes)

	// Version increases with every update; UpdateOrder fails with ECONFLICT on a stale one.
	Version int64 `json:"version"`
}

// Open reports whether the order still needs work.
func (o *Order) Open() bool { return o.State.IsOpen() }

// Overdue reports whether the order is open, not yet answered and past its deadline at now.
func (o *Order) Overdue(now time.Time) bool {
	return o.Open() && o.RespondedAt.IsZero() && !o.Deadline.IsZero() && now.After(o.Deadline)
}

// Clone returns a deep copy.
func (o *Order) Clone() *Order {
	c := *o
	if o.Attributes != nil {
		c.Attributes = make(map[string]string, len(o.Attributes))
		for k, v := range o.Attributes {
			c.Attributes[k] = v
		}
	}
	c.Media = append([]string(nil), o.Media...)
	c.AssistDepts = append([]string(nil), o.AssistDepts...)
	c.Reporters = append([]Reporter(nil), o.Reporters...)
	c.TriageReasons = append([]string(nil), o.TriageReasons...)
	if o.Satisfied != nil {
		s := *o.Satisfied
		c.Satisfied = &s
	}
	return &c
}

// PublicView returns a copy of o with only the fields public surfaces show: no reporters,
// no triage details, no token, no internal flags; Media keeps its first item.
func PublicView(o *Order) *Order {
	p := &Order{ID: o.ID, TrackingNo: o.TrackingNo, Category: o.Category, Subcategory: o.Subcategory, State: o.State,
		Resolution: o.Resolution, DuplicateOf: o.DuplicateOf, Description: o.Description, StatusNotes: o.StatusNotes,
		Address: o.Address, AddressID: o.AddressID, Zipcode: o.Zipcode, HasLocation: o.HasLocation, Lon: o.Lon, Lat: o.Lat,
		LeadDept: o.LeadDept, Street: o.Street, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, Deadline: o.Deadline,
		RespondedAt: o.RespondedAt}
	if len(o.Media) > 0 {
		p.Media = []string{o.Media[0]}
	}
	return p
}

// Event is one recorded move of an order: who, when, why, with what.
type Event struct {
	ID          int64             `json:"id"`
	OrderID     int64             `json:"order_id"`
	At          time.Time         `json:"at"`
	ActorID     int64             `json:"actor_id,omitempty"`
	ActorName   string            `json:"actor_name,omitempty"`
	ActorRole   string            `json:"actor_role"`
	ActorDept   string            `json:"actor_dept,omitempty"`
	Action      Action            `json:"action"`
	From        State             `json:"from,omitempty"`
	To          State             `json:"to"`
	Reason      string            `json:"reason,omitempty"`
	Attachments []string          `json:"attachments,omitempty"`
	Data        map[string]string `json:"data,omitempty"`
	// Public events are shown to the citizen (tracking page, Open311 status_notes).
	Public bool `json:"public"`
}

// Update is a public event with the tracking number of its order.
type Update struct {
	Event
	TrackingNo string `json:"tracking_no"`
}

// TrainingExample is a human triage decision kept to retrain the classifier.
type TrainingExample struct {
	ID                 int64     `json:"id"`
	OrderID            int64     `json:"order_id"`
	Text               string    `json:"text"`
	ProposedCategory   string    `json:"proposed_category"`
	ProposedConfidence float64   `json:"proposed_confidence"`
	ChosenCategory     string    `json:"chosen_category"`
	ChosenDept         string    `json:"chosen_dept"`
	ActorID            int64     `json:"actor_id"`
	At                 time.Time `json:"at"`
}

// Filter selects orders. Zero fields do not filter. IDs or TrackingNos, when set, override
// the other fields except Limit (as Open311's service_request_id does).
type Filter struct {
	IDs         []int64
	TrackingNos []string
	// Categories and Subcategories: an order matches when its Category is in Categories or
	// its Subcategory is in Subcategories (either list may be empty; both empty = any).
	Categories    []string
	Subcategories []string
	States        []State
	Open          *bool
	From, To      time.Time // CreatedAt in [From, To)
	// ClosedFrom and ClosedTo select orders closed (ClosedAt) in [ClosedFrom, ClosedTo).
	ClosedFrom, ClosedTo time.Time
	Priorities           []Priority
	LeadDept             string
	// Area matches an order whose grid, community or street is this code.
	Area       string
	Street     string
	Community  string
	Grid       string
	Overdue    bool      // open, unanswered and Deadline < Now
	Now        time.Time // for Overdue
	ReporterID int64
	Source     string
	// Cursor pagination: orders strictly after (AfterCreated, AfterID) in the listing order
	// (newest first). Offset is used instead by Open311's page/page_size.
	AfterCreated time.Time
	AfterID      int64
	Offset       int
	Limit        int
}

// GroupBy names a field orders can be counted by.
type GroupBy string

// Fields to count by.
const (
	ByCategory  GroupBy = "category"
	ByStreet    GroupBy = "street"
	ByCommunity GroupBy = "community"
	ByGrid      GroupBy = "grid"
	ByDept      GroupBy = "lead_dept"
	ByState     GroupBy = "state"
)

// Valid reports whether g is one of the fields above.
func (g GroupBy) Valid() bool {
	switch g {
	case ByCategory, ByStreet, ByCommunity, ByGrid, ByDept, ByState:
		return true
	}
	return false
}

// Of returns the order's value of the field.
func (g GroupBy) Of(o *Order) string {
	switch g {
	case ByCategory:
		return o.Category
	case ByStreet:
		return o.Street
	case ByCommunity:
		return o.Community
	case ByGrid:
		return o.Grid
	case ByDept:
		return o.LeadDept
	case ByState:
		return string(o.State)
	}
	return ""
}

// Repository stores orders, their events and the configuration of the work-order service.
// Implementations must be safe for concurrent use. Methods return ENOTFOUND for a missing
// order and ECONFLICT when UpdateOrder sees a stale Version; other failures are wrapped.
// Returned orders are copies the caller owns.
type Repository interface {
	// CreateOrder stores o (assigning o.ID, Version 1) and its first events atomically.
	CreateOrder(ctx context.Context, o *Order, evs ...*Event) error
	// UpdateOrder stores o if its Version matches the stored one (then increments it) and
	// appends the events, atomically.
	UpdateOrder(ctx context.Context, o *Order, evs ...*Event) error
	GetOrder(ctx context.Context, id int64) (*Order, error)
	GetOrderByTrackingNo(ctx context.Context, no string) (*Order, error)
	GetOrderByTokenHash(ctx context.Context, hash string) (*Order, error)
	Events(ctx context.Context, orderID int64) ([]Event, error)
	// ListOrders returns orders matching f, newest first (CreatedAt desc, ID desc).
	ListOrders(ctx context.Context, f Filter) ([]*Order, error)
	// ListPublic is ListOrders for public surfaces (Open311): only the fields PublicView
	// keeps are set, so implementations can answer from columns without reading documents.
	ListPublic(ctx context.Context, f Filter) ([]*Order, error)
	// PublicUpdates returns public events at or after from and before to, oldest first, each
	// with its order's tracking number (for Open311 servicerequestupdates).
	PublicUpdates(ctx context.Context, from, to time.Time, limit int) ([]Update, error)
	// CountOrders counts orders matching f (ignoring pagination).
	CountOrders(ctx context.Context, f Filter) (int, error)
	// CountBy counts orders matching f grouped by one of the GroupBy fields.
	CountBy(ctx context.Context, f Filter, by GroupBy) (map[string]int, error)
	// DueOrders returns open orders whose NextDue is set and not after t, earliest first.
	DueOrders(ctx context.Context, t time.Time, limit int) ([]*Order, error)
	// NearbyOpen returns open orders of category created at or after since whose location
	// lies in the bounding box.
	NearbyOpen(ctx context.Context, category string, minLon, minLat, maxLon, maxLat float64, since time.Time) ([]*Order, error)
	// NextSequence returns the next value (1, 2, ...) of the named counter.
	NextSequence(ctx context.Context, name string) (int64, error)
	// GetConfig returns the stored JSON document under key, or ENOTFOUND.
	GetConfig(ctx context.Context, key string) ([]byte, error)
	PutConfig(ctx context.Context, key string, doc []byte) error
	AddTrainingExample(ctx context.Context, ex *TrainingExample) error
	TrainingExamples(ctx context.Context, limit int) ([]TrainingExample, error)
}
