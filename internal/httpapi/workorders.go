package httpapi

import (
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/workorder"
)

// WorkorderOptions tunes the work-order routes.
type WorkorderOptions struct {
	// ReportsPerHour caps reports per client (IP for anonymous callers, user otherwise) on
	// the public report door; staff are not limited. Default 20.
	ReportsPerHour int
	// Now is the clock of the rate limiter (default time.Now).
	Now func() time.Time
	// Media stores photos; nil leaves the photo routes out.
	Media workorder.MediaRepository
}

// MediaReceipt is what an upload returns: the reference to put into media or attachments.
type MediaReceipt struct {
	ID          string `json:"id"`
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
}

// ReportRequest is a citizen's report (or a staff entry) as posted to the API.
type ReportRequest struct {
	Source      string            `json:"source,omitempty"` // citizen (default), patrol, staff
	Category    string            `json:"category,omitempty"`
	Subcategory string            `json:"subcategory,omitempty"`
	Priority    string            `json:"priority,omitempty"`
	Title       string            `json:"title,omitempty"`
	Description string            `json:"description"`
	Attributes  map[string]string `json:"attributes,omitempty"`
	Media       []string          `json:"media,omitempty"`
	Lon         *float64          `json:"lon,omitempty"`
	Lat         *float64          `json:"lat,omitempty"`
	Address     string            `json:"address,omitempty"`
	Name        string            `json:"name,omitempty"`
	Phone       string            `json:"phone,omitempty"`
	Email       string            `json:"email,omitempty"`
	Dept        string            `json:"dept,omitempty"`
}

// ReportReceipt is what a reporter gets back: the tracking number and the secret token to
// follow, rate or reopen the case without an account (shown once).
type ReportReceipt struct {
	ID          int64     `json:"id"`
	TrackingNo  string    `json:"tracking_no"`
	Token       string    `json:"token"`
	State       string    `json:"state"`
	Category    string    `json:"category"`
	LeadDept    string    `json:"lead_dept,omitempty"`
	Street      string    `json:"street,omitempty"`
	Deadline    time.Time `json:"deadline,omitzero"`
	Duplicates  []string  `json:"possible_duplicates,omitempty"`
	MergedInto  string    `json:"merged_into,omitempty"`
	TrackingURL string    `json:"tracking_url"`
}

// WorkorderDetail is an order with its full history and the moves the caller may make.
type WorkorderDetail struct {
	Order   *workorder.Order   `json:"order"`
	History []workorder.Event  `json:"history"`
	Actions []workorder.Action `json:"actions"`
}

// TrackedOrder is the citizen's view of their case: public fields and public history only.
type TrackedOrder struct {
	TrackingNo  string            `json:"tracking_no"`
	Category    string            `json:"category"`
	Subcategory string            `json:"subcategory,omitempty"`
	State       string            `json:"state"`
	StateZh     string            `json:"state_zh"`
	Status      string            `json:"status"`
	Description string            `json:"description"`
	Address     string            `json:"address,omitempty"`
	LeadDept    string            `json:"lead_dept,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
	Deadline    time.Time         `json:"deadline,omitzero"`
	StatusNotes string            `json:"status_notes,omitempty"`
	Rating      int               `json:"rating,omitempty"`
	CanRate     bool              `json:"can_rate"`
	CanReopen   bool              `json:"can_reopen"`
	History     []workorder.Event `json:"history"`
}

// TrackActionRequest is a reporter's move with the secret token.
type TrackActionRequest struct {
	Token     string `json:"token"`
	Rating    int    `json:"rating,omitempty"`
	Satisfied *bool  `json:"satisfied,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// CatalogueView is the dispatch catalogue with the departments to choose from.
type CatalogueView struct {
	Entries     []workorder.CatalogueEntry `json:"entries"`
	Departments []workorder.Department     `json:"departments"`
}

// DictionaryView is the category dictionary (for report forms and triage).
type DictionaryView struct {
	Categories  []workorder.Category   `json:"categories"`
	Departments []workorder.Department `json:"departments"`
	Priorities  []workorder.Priority   `json:"priorities"`
}

// DictionaryExtension is an administrator's extension of the dictionary.
type DictionaryExtension struct {
	Categories  []workorder.Category   `json:"categories"`
	Departments []workorder.Department `json:"departments"`
}

// LifecycleView documents the state machine for UIs.
type LifecycleView struct {
	States      []workorder.StateInfo  `json:"states"`
	Transitions []workorder.Transition `json:"transitions"`
}

type woHandlers struct {
	s            *Server
	svc          *workorder.Service
	opt          WorkorderOptions
	limiter      *reportLimiter
	mediaLimiter *reportLimiter
}

// WorkorderRoutes serves work orders: the public report and tracking doors, staff lists and
// details with full history, one POST per lifecycle action, the triage queue, duplicates,
// and the dispatch catalogue, SLA, calendar and settings. Finer checks (a unit acts only on
// its own orders, a worker only in its area) are the domain's.
func WorkorderRoutes(s *Server, svc *workorder.Service, opt WorkorderOptions) []Route {
	if opt.ReportsPerHour <= 0 {
		opt.ReportsPerHour = 20
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	h := &woHandlers{s: s, svc: svc, opt: opt, limiter: &reportLimiter{max: opt.ReportsPerHour, window: time.Hour, m: map[string]*window{}},
		mediaLimiter: &reportLimiter{max: 10 * opt.ReportsPerHour, window: time.Hour, m: map[string]*window{}}}
	staff := []string{citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleDept, citybrain.RoleWorker, citybrain.RoleAuditor}
	readers := append(slices.Clone(staff), citybrain.RoleCitizen)
	triage := []string{citybrain.RoleAdmin, citybrain.RoleOperator}
	admin := []string{citybrain.RoleAdmin}
	creators := []string{citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleDept, citybrain.RoleWorker}
	listQuery := map[string]string{
		"category": "taxonomy code(s), comma separated", "subcategory": "subcategory code(s)", "state": "lifecycle state(s), comma separated",
		"open": "true or false", "dept": "lead unit code", "street": "street code", "community": "community code", "grid": "grid code",
		"overdue": "true: open, unanswered and past the deadline", "source": "citizen, open311, alert, patrol, staff",
		"from": "created at or after (RFC 3339)", "to": "created before (RFC 3339)", "limit": "1–1000, default 100", "cursor": "next_cursor of the previous page",
	}
	routes := []Route{
		{Method: "POST", Path: "/api/v1/reports", Tag: "workorders", Auth: AuthOptional, MaxBody: 64 << 10,
			Summary: "Report a problem (citizens, anonymous allowed and rate limited; staff and grid workers with source staff/patrol)",
			Request: ReportRequest{}, Response: ReportReceipt{}, Handle: h.report},
		{Method: "GET", Path: "/api/v1/track/{no}", Tag: "workorders", Auth: AuthPublic,
			Summary: "Follow a case with its tracking number and the secret token (query token= or header X-Tracking-Token)",
			Query:   map[string]string{"token": "the secret token given with the tracking number"}, Response: TrackedOrder{}, Handle: h.track},
		{Method: "POST", Path: "/api/v1/track/{no}/rate", Tag: "workorders", Auth: AuthPublic, MaxBody: 16 << 10,
			Summary: "Rate a closed case (回访评价) with the token", Request: TrackActionRequest{}, Response: TrackedOrder{}, Handle: h.trackAction(workorder.ActRate)},
		{Method: "POST", Path: "/api/v1/track/{no}/reopen", Tag: "workorders", Auth: AuthPublic, MaxBody: 16 << 10,
			Summary: "Reopen a closed case the reporter is not satisfied with (重办)", Request: TrackActionRequest{}, Response: TrackedOrder{}, Handle: h.trackAction(workorder.ActReopen)},
		{Method: "POST", Path: "/api/v1/track/{no}/note", Tag: "workorders", Auth: AuthPublic, MaxBody: 16 << 10,
			Summary: "Add information to an open case", Request: TrackActionRequest{}, Response: TrackedOrder{}, Handle: h.trackAction(workorder.ActNote)},
		{Method: "POST", Path: "/api/v1/track/{no}/cancel", Tag: "workorders", Auth: AuthPublic, MaxBody: 16 << 10,
			Summary: "Withdraw a case before it is dispatched", Request: TrackActionRequest{}, Response: TrackedOrder{}, Handle: h.trackAction(workorder.ActCancel)},
		{Method: "GET", Path: "/api/v1/workorders", Tag: "workorders", Roles: readers, Dataset: "workorders",
			Summary: "List work orders, newest first (citizens see their own)", Query: listQuery, Response: Page[*workorder.Order]{}, Handle: h.list},
		{Method: "POST", Path: "/api/v1/workorders", Tag: "workorders", Roles: creators, MaxBody: 64 << 10,
			Summary: "Create a work order as staff (source staff or patrol)", Request: ReportRequest{}, Response: ReportReceipt{}, Handle: h.create},
		{Method: "GET", Path: "/api/v1/workorders/{id}", Tag: "workorders", Roles: readers, Dataset: "workorders",
			Summary: "Get a work order with its full history and the actions the caller may take", Response: WorkorderDetail{}, Handle: h.get},
		{Method: "GET", Path: "/api/v1/workorders/{id}/duplicates", Tag: "workorders", Roles: staff, Dataset: "workorders",
			Summary: "Open orders of the same category nearby (并单 candidates)", Response: []*workorder.Order{}, Handle: h.duplicates},
		{Method: "GET", Path: "/api/v1/workorder-queue", Tag: "workorders", Roles: triage, Dataset: "workorders",
			Summary: "The human triage queue (待分拨) with the assistant's proposal and reasons", Query: map[string]string{"limit": "1–1000"},
			Response: []*workorder.Order{}, Handle: h.queue},
		{Method: "GET", Path: "/api/v1/workorder-stats", Tag: "workorders", Roles: staff,
			Summary: "Counts: open, overdue, waiting for triage", Response: workorder.Stats{}, Handle: h.stats},
		{Method: "GET", Path: "/api/v1/workorder-summary", Tag: "workorders", Roles: staff, Dataset: "workorders",
			Summary:  "Figures of a period for the daily brief: new, closed, open, overdue, by category and street, hotspots, notable cases, the previous period",
			Query:    map[string]string{"from": "start (RFC 3339), default 24 h before to", "to": "end (RFC 3339), default now", "street": "street code; empty = the district"},
			Response: workorder.Summary{}, Handle: h.summary},
		{Method: "GET", Path: "/api/v1/workorder-training", Tag: "workorders", Roles: triage, Dataset: "workorders",
			Summary: "Human triage decisions recorded as training examples", Response: []workorder.TrainingExample{}, Handle: h.training},
		{Method: "GET", Path: "/api/v1/workorder-config/lifecycle", Tag: "workorders", Auth: AuthPublic,
			Summary: "The lifecycle: states and the transition table with roles", Response: LifecycleView{}, Handle: h.lifecycle},
		{Method: "GET", Path: "/api/v1/workorder-config/categories", Tag: "workorders", Auth: AuthPublic,
			Summary: "The category dictionary and departments (for report forms)", Response: DictionaryView{}, Handle: h.categories},
		{Method: "PUT", Path: "/api/v1/workorder-config/categories", Tag: "workorders", Roles: admin, MaxBody: 1 << 20,
			Summary: "Replace the city's extension of the dictionary (subcategories, 数字城管 classes); shipped codes stay", Request: DictionaryExtension{}, Response: DictionaryView{}, Handle: h.putCategories},
		{Method: "GET", Path: "/api/v1/workorder-config/catalogue", Tag: "workorders", Roles: staff,
			Summary: "The dispatch catalogue (派单目录)", Response: CatalogueView{}, Handle: h.catalogue},
		{Method: "PUT", Path: "/api/v1/workorder-config/catalogue/{category}", Tag: "workorders", Roles: admin, MaxBody: 16 << 10,
			Summary: "Set the lead and assisting units of a category (empty lead restores the default)", Request: workorder.CatalogueEntry{}, Response: workorder.CatalogueEntry{}, Handle: h.putCatalogue},
		{Method: "GET", Path: "/api/v1/workorder-config/sla", Tag: "workorders", Roles: staff,
			Summary: "The SLA policy", Response: workorder.SLAPolicy{}, Handle: h.sla},
		{Method: "PUT", Path: "/api/v1/workorder-config/sla", Tag: "workorders", Roles: admin, MaxBody: 256 << 10,
			Summary: "Replace the SLA policy", Request: workorder.SLAPolicy{}, Response: workorder.SLAPolicy{}, Handle: h.putSLA},
		{Method: "GET", Path: "/api/v1/workorder-config/calendar", Tag: "workorders", Roles: staff,
			Summary: "The working calendar: office hours, holidays and 调休 days per year", Response: workorder.CalendarConfig{}, Handle: h.calendar},
		{Method: "PUT", Path: "/api/v1/workorder-config/calendar", Tag: "workorders", Roles: admin, MaxBody: 256 << 10,
			Summary: "Replace the working calendar", Request: workorder.CalendarConfig{}, Response: workorder.CalendarConfig{}, Handle: h.putCalendar},
		{Method: "GET", Path: "/api/v1/workorder-config/settings", Tag: "workorders", Roles: staff,
			Summary: "Triage threshold, duplicate radius and window, reopen window", Response: workorder.Config{}, Handle: h.settings},
		{Method: "PUT", Path: "/api/v1/workorder-config/settings", Tag: "workorders", Roles: admin, MaxBody: 16 << 10,
			Summary: "Replace the work-order settings", Request: workorder.Config{}, Response: workorder.Config{}, Handle: h.putSettings},
	}
	if opt.Media != nil {
		routes = append(routes,
			Route{Method: "POST", Path: "/api/v1/workorder-media", Tag: "workorders", Auth: AuthOptional, MaxBody: workorder.MaxMediaBytes + 64<<10,
				Summary:  "Upload a photo (JPEG, PNG, WebP, GIF ≤ 5 MiB; raw body or multipart field \"file\"); anonymous allowed, rate limited",
				Response: MediaReceipt{}, Handle: h.uploadMedia},
			Route{Method: "GET", Path: "/api/v1/workorder-media/{id}", Tag: "workorders", Auth: AuthPublic, Raw: true,
				Summary: "A photo by its unguessable id", Handle: h.getMedia})
	}
	// One POST per lifecycle action, allowed to the roles the transition table names.
	for _, act := range workorder.Actions() {
		if act == workorder.ActMergeReporter || act == workorder.ActCreate {
			continue
		}
		roles := actionRoles(act)
		if len(roles) == 0 {
			continue
		}
		name := ""
		for _, t := range workorder.Transitions() {
			if t.Action == act {
				name = t.NameZh
				break
			}
		}
		routes = append(routes, Route{Method: "POST", Path: "/api/v1/workorders/{id}/" + string(act), Tag: "workorders", Roles: roles,
			Dataset: "workorders", MaxBody: 64 << 10, Summary: name + " (" + string(act) + ")",
			Request: workorder.ActionRequest{}, Response: workorder.Order{}, Handle: h.act(act)})
	}
	return routes
}

// actionRoles maps the table's roles for an action to platform roles (the reporter is a
// citizen; the system's moves are not offered to people).
func actionRoles(act workorder.Action) []string {
	set := map[string]bool{}
	for _, t := range workorder.Transitions() {
		if t.Action != act {
			continue
		}
		for _, r := range t.Roles {
			switch r {
			case workorder.RoleSystem:
			case workorder.RoleReporter:
				set[citybrain.RoleCitizen] = true
			default:
				set[r] = true
			}
		}
	}
	var out []string
	for _, r := range citybrain.Roles() {
		if set[r] {
			out = append(out, r)
		}
	}
	return out
}

// reportLimiter is a fixed-window counter per client with bounded memory.
type reportLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	m      map[string]*window
}

type window struct {
	start time.Time
	n     int
}

func (l *reportLimiter) allow(now time.Time, key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.m[key]
	if w == nil || now.Sub(w.start) >= l.window {
		if len(l.m) >= 100000 {
			for k, v := range l.m {
				if now.Sub(v.start) >= l.window {
					delete(l.m, k)
				}
			}
			if len(l.m) >= 100000 {
				return false
			}
		}
		w = &window{start: now}
		l.m[key] = w
	}
	if w.n >= l.max {
		return false
	}
	w.n++
	return true
}

func toNewReport(in ReportRequest) workorder.NewReport {
	nr := workorder.NewReport{Source: in.Source, Category: in.Category, Subcategory: in.Subcategory, Priority: workorder.Priority(in.Priority),
		Title: in.Title, Description: in.Description, Attributes: in.Attributes, Media: in.Media, Address: in.Address, Dept: in.Dept,
		Reporter: workorder.Reporter{Name: in.Name, Phone: in.Phone, Email: in.Email}}
	if in.Lon != nil && in.Lat != nil {
		nr.HasLocation, nr.Lon, nr.Lat = true, *in.Lon, *in.Lat
	}
	return nr
}

func receipt(res *workorder.Created) ReportReceipt {
	o := res.Order
	rc := ReportReceipt{ID: o.ID, TrackingNo: o.TrackingNo, Token: res.Token, State: string(o.State), Category: o.Category,
		LeadDept: o.LeadDept, Street: o.Street, Deadline: o.Deadline, TrackingURL: "/#/track?no=" + o.TrackingNo + "&token=" + res.Token}
	for _, d := range res.Duplicates {
		rc.Duplicates = append(rc.Duplicates, d.TrackingNo)
	}
	if res.MergedInto != nil {
		rc.MergedInto = res.MergedInto.TrackingNo
	}
	return rc
}

func (h *woHandlers) report(w http.ResponseWriter, r *http.Request) error {
	var in ReportRequest
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	a := citybrain.ActorFrom(r.Context())
	staffActor := a.Is(citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleDept, citybrain.RoleWorker)
	if in.Source == "" {
		in.Source = workorder.SourceCitizen
	}
	if in.Source != workorder.SourceCitizen && !staffActor {
		return citybrain.FieldError("source", "市民上报的来源只能是 citizen / citizens report with source citizen")
	}
	if in.Dept != "" && !staffActor {
		return citybrain.FieldError("dept", "承办单位由系统分派 / the unit is chosen by dispatch")
	}
	if !staffActor {
		key := "ip:" + clientKey(r)
		if a != nil {
			key = "user:" + strconv.FormatInt(a.UserID, 10)
		}
		if !h.limiter.allow(h.opt.Now(), key) {
			return citybrain.Errorf(citybrain.ETOOMANY, "上报过于频繁，请稍后再试 / too many reports, try again later")
		}
	}
	res, err := h.svc.Create(r.Context(), toNewReport(in))
	if err != nil {
		return err
	}
	return JSON(w, http.StatusCreated, receipt(res))
}

func (h *woHandlers) create(w http.ResponseWriter, r *http.Request) error {
	var in ReportRequest
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.Source == "" {
		in.Source = workorder.SourceStaff
	}
	if in.Source != workorder.SourceStaff && in.Source != workorder.SourcePatrol {
		return citybrain.FieldError("source", "来源须为 staff 或 patrol / source must be staff or patrol")
	}
	res, err := h.svc.Create(r.Context(), toNewReport(in))
	if err != nil {
		return err
	}
	return JSON(w, http.StatusCreated, receipt(res))
}

func trackToken(r *http.Request) string {
	if t := r.Header.Get("X-Tracking-Token"); t != "" {
		return t
	}
	return r.URL.Query().Get("token")
}

func (h *woHandlers) tracked(o *workorder.Order, evs []workorder.Event) TrackedOrder {
	t := TrackedOrder{TrackingNo: o.TrackingNo, Category: o.Category, Subcategory: o.Subcategory, State: string(o.State),
		Status: workorder.PublicStatus(o), Description: o.Description, Address: o.Address, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
		StatusNotes: o.StatusNotes, Rating: o.Rating, History: evs,
		CanRate: o.State == workorder.StateClosed, CanReopen: !o.Open() && o.Resolution != workorder.ResolutionDuplicate}
	for _, si := range workorder.States() {
		if si.State == o.State {
			t.StateZh = si.NameZh
		}
	}
	if o.Open() {
		t.Deadline = o.Deadline
	}
	if o.LeadDept != "" {
		t.LeadDept = o.LeadDept
		if d, ok := h.svc.Dictionary().Department(o.LeadDept); ok {
			t.LeadDept = d.NameZh
		}
	}
	if t.History == nil {
		t.History = []workorder.Event{}
	}
	return t
}

func (h *woHandlers) track(w http.ResponseWriter, r *http.Request) error {
	o, evs, err := h.svc.TrackHistory(r.Context(), r.PathValue("no"), trackToken(r))
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, h.tracked(o, evs))
}

func (h *woHandlers) trackAction(act workorder.Action) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in TrackActionRequest
		if err := DecodeJSON(r, &in); err != nil {
			return err
		}
		if in.Token == "" {
			in.Token = trackToken(r)
		}
		no := r.PathValue("no")
		if _, err := h.svc.ActWithToken(r.Context(), no, in.Token, workorder.ActionRequest{Action: act, Rating: in.Rating, Satisfied: in.Satisfied, Reason: in.Reason}); err != nil {
			return err
		}
		o, evs, err := h.svc.TrackHistory(r.Context(), no, in.Token)
		if err != nil {
			return err
		}
		return JSON(w, http.StatusOK, h.tracked(o, evs))
	}
}

func splitCSV(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseBool(field, v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, citybrain.FieldError(field, "%s must be true or false", field)
	}
	return b, nil
}

func (h *woHandlers) list(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := PageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := workorder.Filter{Limit: limit, Categories: splitCSV(q.Get("category")), Subcategories: splitCSV(q.Get("subcategory")),
		LeadDept: q.Get("dept"), Street: q.Get("street"), Community: q.Get("community"), Grid: q.Get("grid"), Source: q.Get("source")}
	for _, s := range splitCSV(q.Get("state")) {
		st := workorder.State(s)
		if !st.Valid() {
			return citybrain.FieldError("state", "unknown state %q", s)
		}
		f.States = append(f.States, st)
	}
	if v := q.Get("open"); v != "" {
		b, err := parseBool("open", v)
		if err != nil {
			return err
		}
		f.Open = &b
	}
	if v := q.Get("overdue"); v != "" {
		if f.Overdue, err = parseBool("overdue", v); err != nil {
			return err
		}
	}
	if f.From, err = ParseTime("from", q.Get("from")); err != nil {
		return err
	}
	if f.To, err = ParseTime("to", q.Get("to")); err != nil {
		return err
	}
	if cursor != "" {
		ms, id, ok := strings.Cut(cursor, ":")
		m, err1 := strconv.ParseInt(ms, 10, 64)
		n, err2 := strconv.ParseInt(id, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return citybrain.FieldError("cursor", "cursor is not one this API issued")
		}
		f.AfterCreated, f.AfterID = time.UnixMilli(m).UTC(), n
	}
	items, err := h.svc.List(r.Context(), f)
	if err != nil {
		return err
	}
	page := Page[*workorder.Order]{Items: items}
	if page.Items == nil {
		page.Items = []*workorder.Order{}
	}
	if len(items) == limit {
		last := items[len(items)-1]
		page.NextCursor = EncodeCursor(strconv.FormatInt(last.CreatedAt.UnixMilli(), 10) + ":" + strconv.FormatInt(last.ID, 10))
	}
	return h.s.Reply(w, r, http.StatusOK, page)
}

func (h *woHandlers) get(w http.ResponseWriter, r *http.Request) error {
	id, err := PathInt64(r, "id")
	if err != nil {
		return err
	}
	o, err := h.svc.Get(r.Context(), id)
	if err != nil {
		return err
	}
	evs, err := h.svc.History(r.Context(), id)
	if err != nil {
		return err
	}
	if evs == nil {
		evs = []workorder.Event{}
	}
	return h.s.Reply(w, r, http.StatusOK, WorkorderDetail{Order: o, History: evs, Actions: h.svc.AvailableActions(r.Context(), o)})
}

func (h *woHandlers) act(act workorder.Action) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := PathInt64(r, "id")
		if err != nil {
			return err
		}
		var req workorder.ActionRequest
		if r.ContentLength != 0 {
			if err := DecodeJSON(r, &req); err != nil {
				return err
			}
		}
		if req.Action != "" && req.Action != act {
			return citybrain.FieldError("action", "body action %q differs from the path %q", req.Action, act)
		}
		req.Action = act
		o, err := h.svc.Act(r.Context(), id, req)
		if err != nil {
			return err
		}
		return h.s.Reply(w, r, http.StatusOK, o)
	}
}

func (h *woHandlers) duplicates(w http.ResponseWriter, r *http.Request) error {
	id, err := PathInt64(r, "id")
	if err != nil {
		return err
	}
	ds, err := h.svc.Duplicates(r.Context(), id)
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []*workorder.Order{}
	}
	return h.s.Reply(w, r, http.StatusOK, ds)
}

func (h *woHandlers) queue(w http.ResponseWriter, r *http.Request) error {
	limit, _, err := PageParams(r)
	if err != nil {
		return err
	}
	q, err := h.svc.TriageQueue(r.Context(), limit)
	if err != nil {
		return err
	}
	if q == nil {
		q = []*workorder.Order{}
	}
	return h.s.Reply(w, r, http.StatusOK, q)
}

func (h *woHandlers) stats(w http.ResponseWriter, r *http.Request) error {
	st, err := h.svc.Counts(r.Context())
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, st)
}

func (h *woHandlers) training(w http.ResponseWriter, r *http.Request) error {
	limit, _, err := PageParams(r)
	if err != nil {
		return err
	}
	ex, err := h.svc.TrainingExamples(r.Context(), limit)
	if err != nil {
		return err
	}
	if ex == nil {
		ex = []workorder.TrainingExample{}
	}
	return h.s.Reply(w, r, http.StatusOK, ex)
}

func (h *woHandlers) lifecycle(w http.ResponseWriter, r *http.Request) error {
	return JSON(w, http.StatusOK, LifecycleView{States: workorder.States(), Transitions: workorder.Transitions()})
}

func (h *woHandlers) dictionaryView() DictionaryView {
	d := h.svc.Dictionary()
	return DictionaryView{Categories: d.Categories(), Departments: d.Departments(),
		Priorities: []workorder.Priority{workorder.PriorityEmergency, workorder.PriorityUrgent, workorder.PriorityNormal, workorder.PriorityComplex}}
}

func (h *woHandlers) categories(w http.ResponseWriter, r *http.Request) error {
	return JSON(w, http.StatusOK, h.dictionaryView())
}

func (h *woHandlers) putCategories(w http.ResponseWriter, r *http.Request) error {
	var in DictionaryExtension
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	if err := h.svc.ExtendDictionary(r.Context(), in.Categories, in.Departments); err != nil {
		return err
	}
	return JSON(w, http.StatusOK, h.dictionaryView())
}

func (h *woHandlers) catalogue(w http.ResponseWriter, r *http.Request) error {
	return JSON(w, http.StatusOK, CatalogueView{Entries: h.svc.Catalogue().Entries(), Departments: h.svc.Dictionary().Departments()})
}

func (h *woHandlers) putCatalogue(w http.ResponseWriter, r *http.Request) error {
	var e workorder.CatalogueEntry
	if err := DecodeJSON(r, &e); err != nil {
		return err
	}
	if e.Category != "" && e.Category != r.PathValue("category") {
		return citybrain.FieldError("category", "body category differs from the path")
	}
	e.Category = r.PathValue("category")
	out, err := h.svc.SetCatalogueEntry(r.Context(), e)
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, out)
}

func (h *woHandlers) sla(w http.ResponseWriter, r *http.Request) error {
	return JSON(w, http.StatusOK, h.svc.SLAPolicy())
}

func (h *woHandlers) putSLA(w http.ResponseWriter, r *http.Request) error {
	var p workorder.SLAPolicy
	if err := DecodeJSON(r, &p); err != nil {
		return err
	}
	if err := h.svc.SetSLAPolicy(r.Context(), p); err != nil {
		return err
	}
	return JSON(w, http.StatusOK, h.svc.SLAPolicy())
}

func (h *woHandlers) calendar(w http.ResponseWriter, r *http.Request) error {
	return JSON(w, http.StatusOK, h.svc.Calendar().Config())
}

func (h *woHandlers) putCalendar(w http.ResponseWriter, r *http.Request) error {
	var c workorder.CalendarConfig
	if err := DecodeJSON(r, &c); err != nil {
		return err
	}
	if err := h.svc.SetCalendar(r.Context(), c); err != nil {
		return err
	}
	return JSON(w, http.StatusOK, h.svc.Calendar().Config())
}

func (h *woHandlers) settings(w http.ResponseWriter, r *http.Request) error {
	return JSON(w, http.StatusOK, h.svc.Settings())
}

func (h *woHandlers) putSettings(w http.ResponseWriter, r *http.Request) error {
	var c workorder.Config
	if err := DecodeJSON(r, &c); err != nil {
		return err
	}
	if err := h.svc.SetSettings(r.Context(), c); err != nil {
		return err
	}
	return JSON(w, http.StatusOK, h.svc.Settings())
}

func (h *woHandlers) uploadMedia(w http.ResponseWriter, r *http.Request) error {
	a := citybrain.ActorFrom(r.Context())
	if !a.Is(citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleDept, citybrain.RoleWorker) {
		key := "ip:" + clientKey(r)
		if a != nil {
			key = "user:" + strconv.FormatInt(a.UserID, 10)
		}
		if !h.mediaLimiter.allow(h.opt.Now(), key) {
			return citybrain.Errorf(citybrain.ETOOMANY, "上传过于频繁，请稍后再试 / too many uploads, try again later")
		}
	}
	var data []byte
	var err error
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		f, _, ferr := r.FormFile("file")
		if ferr != nil {
			return citybrain.FieldError("file", "multipart field \"file\" is missing: %v", ferr)
		}
		defer f.Close()
		data, err = io.ReadAll(io.LimitReader(f, workorder.MaxMediaBytes+1))
	} else {
		data, err = io.ReadAll(r.Body)
	}
	if err != nil {
		return normalizeError(err)
	}
	var uploader int64
	if a != nil {
		uploader = a.UserID
	}
	m, err := workorder.NewMedia(http.DetectContentType(data), data, uploader, h.opt.Now(), nil)
	if err != nil {
		return err
	}
	if err := h.opt.Media.PutMedia(r.Context(), m); err != nil {
		return err
	}
	return JSON(w, http.StatusCreated, MediaReceipt{ID: m.ID, URL: "/api/v1/workorder-media/" + m.ID, ContentType: m.ContentType, Size: m.Size})
}

func (h *woHandlers) getMedia(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !workorder.ValidMediaID(id) {
		return citybrain.Errorf(citybrain.ENOTFOUND, "照片不存在 / photo not found")
	}
	m, err := h.opt.Media.GetMedia(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", m.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.Data)))
	w.Header().Set("Cache-Control", "private, max-age=86400, immutable")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(m.Data)
	return err
}

func (h *woHandlers) summary(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	from, err := ParseTime("from", q.Get("from"))
	if err != nil {
		return err
	}
	to, err := ParseTime("to", q.Get("to"))
	if err != nil {
		return err
	}
	sum, err := h.svc.Summarize(r.Context(), from, to, q.Get("street"))
	if err != nil {
		return err
	}
	return h.s.Reply(w, r, http.StatusOK, sum)
}
