// Package open311 serves the Open311 GeoReport v2 API over the work-order service: service
// discovery, the service list and definitions (from the category dictionary and an embedded
// table of extra questions), POST requests with an api_key, tokens, GET requests with every
// filter of the spec plus the page/page_size extension, and FixMyStreet's
// servicerequestupdates extension, in XML and JSON, with the spec's error bodies. Service
// codes are taxonomy codes; service_request_id is the citizen-facing tracking number;
// expected_datetime is the SLA deadline; status is the lifecycle projected onto open/closed.
//
// A *Server holds no mutable state after New and is safe for concurrent use.
package open311

import (
	"context"
	"embed"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/workorder"
)

//go:embed seed/attributes.json
var seedFS embed.FS

// KeyChecker resolves an api_key to the user it belongs to. It returns EUNAUTHORIZED (or any
// error) for an unknown, expired or revoked key; the server answers 403.
type KeyChecker func(ctx context.Context, key string) (*citybrain.Actor, error)

// Specification is the discovery document's specification URL of GeoReport v2.
const Specification = "http://wiki.open311.org/GeoReport_v2"

// Config describes the endpoint for discovery and limits.
type Config struct {
	// BaseURL is the public URL of the API root, e.g. https://city.example/open311/v2. Empty:
	// derived from the request.
	BaseURL string
	// Prefix is the path the server is mounted at (default /open311/v2).
	Prefix     string
	Contact    string
	KeyService string
	// Changeset is when the API last changed (discovery).
	Changeset time.Time
	// Jurisdiction, when set, is the only jurisdiction_id accepted (others are 404).
	Jurisdiction string
	// Location renders datetimes (default Asia/Shanghai, +08:00).
	Location *time.Location
	// Now is the clock for default date ranges (default time.Now).
	Now func() time.Time
	// Attributes overrides the embedded service definitions (service code → questions).
	Attributes map[string][]Attribute
}

// Attribute is one question of a service definition.
type Attribute struct {
	Variable            bool    `json:"variable" xml:"variable"`
	Code                string  `json:"code" xml:"code"`
	Datatype            string  `json:"datatype" xml:"datatype"`
	Required            bool    `json:"required" xml:"required"`
	DatatypeDescription string  `json:"datatype_description" xml:"datatype_description"`
	Order               int     `json:"order" xml:"order"`
	Description         string  `json:"description" xml:"description"`
	Values              []Value `json:"values,omitempty" xml:"values>value,omitempty"`
}

// Value is one choice of a list attribute.
type Value struct {
	Key  string `json:"key" xml:"key"`
	Name string `json:"name" xml:"name"`
}

// DefaultAttributes returns the embedded service definitions.
func DefaultAttributes() (map[string][]Attribute, error) {
	b, err := seedFS.ReadFile("seed/attributes.json")
	if err != nil {
		return nil, fmt.Errorf("read attributes: %w", err)
	}
	raw := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("decode attributes: %w", err)
	}
	out := map[string][]Attribute{}
	for code, m := range raw {
		if strings.HasPrefix(code, "_") {
			continue
		}
		var as []Attribute
		if err := json.Unmarshal(m, &as); err != nil {
			return nil, fmt.Errorf("decode attributes of %s: %w", code, err)
		}
		for i := range as {
			as[i].Variable = true
			switch as[i].Datatype {
			case "string", "number", "datetime", "text", "singlevaluelist", "multivaluelist":
			default:
				return nil, fmt.Errorf("attribute %s/%s: unknown datatype %q", code, as[i].Code, as[i].Datatype)
			}
		}
		sort.Slice(as, func(i, j int) bool { return as[i].Order < as[j].Order })
		out[code] = as
	}
	return out, nil
}

// Server is the Open311 GeoReport v2 handler.
type Server struct {
	svc   *workorder.Service
	check KeyChecker
	cfg   Config
	attrs map[string][]Attribute
}

// New returns the handler. check verifies api_key values for POST requests.
func New(svc *workorder.Service, check KeyChecker, cfg Config) (*Server, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = "/open311/v2"
	}
	cfg.Prefix = strings.TrimSuffix(cfg.Prefix, "/")
	if cfg.Location == nil {
		cfg.Location = svc.Calendar().Location()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Changeset.IsZero() {
		cfg.Changeset = time.Date(2026, 11, 28, 0, 0, 0, 0, cfg.Location)
	}
	if cfg.Contact == "" {
		cfg.Contact = "12345政务服务便民热线 / the city's 12345 service hotline"
	}
	if cfg.KeyService == "" {
		cfg.KeyService = "向管理员申请 API 令牌 / ask an administrator for an API token (Settings → API tokens)"
	}
	attrs := cfg.Attributes
	if attrs == nil {
		var err error
		if attrs, err = DefaultAttributes(); err != nil {
			return nil, err
		}
	}
	return &Server{svc: svc, check: check, cfg: cfg, attrs: attrs}, nil
}

// apiError is an Open311 error: the HTTP status and the body's list.
type apiError struct {
	status int
	errs   []errorItem
}

type errorItem struct {
	Code        int    `json:"code" xml:"code"`
	Description string `json:"description" xml:"description"`
}

// Error implements error.
func (e *apiError) Error() string { return fmt.Sprintf("open311 %d: %v", e.status, e.errs) }

func fail(status int, format string, args ...any) *apiError {
	return &apiError{status: status, errs: []errorItem{{Code: status, Description: fmt.Sprintf(format, args...)}}}
}

// fromError maps a platform error to the spec's statuses: 404 not found, 403 key problems,
// 400 for every other client mistake, 500 for bugs.
func fromError(err error) *apiError {
	if ae, ok := err.(*apiError); ok {
		return ae
	}
	msg := citybrain.ErrorMessage(err)
	if f := citybrain.ErrorField(err); f != "" {
		msg += " (" + f + ")"
	}
	switch citybrain.ErrorCode(err) {
	case citybrain.ENOTFOUND:
		return fail(http.StatusNotFound, "%s", msg)
	case citybrain.EUNAUTHORIZED, citybrain.EFORBIDDEN, citybrain.EDENIED:
		return fail(http.StatusForbidden, "%s", msg)
	case citybrain.EINTERNAL:
		return fail(http.StatusInternalServerError, "internal error")
	case citybrain.EUNAVAILABLE:
		return fail(http.StatusServiceUnavailable, "%s", msg)
	default:
		return fail(http.StatusBadRequest, "%s", msg)
	}
}

const (
	ctXML  = "text/xml; charset=utf-8"
	ctJSON = "application/json; charset=utf-8"
)

type errorsXML struct {
	XMLName xml.Name    `xml:"errors"`
	Errors  []errorItem `xml:"error"`
}

func writeBody(w http.ResponseWriter, format string, status int, jsonV, xmlV any) {
	var b []byte
	var err error
	if format == "json" {
		w.Header().Set("Content-Type", ctJSON)
		b, err = json.Marshal(jsonV)
	} else {
		w.Header().Set("Content-Type", ctXML)
		b, err = xml.Marshal(xmlV)
		if err == nil {
			b = append([]byte(xml.Header), b...)
		}
	}
	if err != nil {
		w.Header().Set("Content-Type", ctJSON)
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`[{"code":500,"description":"encoding failed"}]`))
		return
	}
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, format string, e *apiError) {
	writeBody(w, format, e.status, e.errs, errorsXML{Errors: e.errs})
}

// ServeHTTP routes /open311/v2/{resource}.{xml|json}.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, s.cfg.Prefix)
	path = strings.TrimPrefix(path, "/")
	dot := strings.LastIndexByte(path, '.')
	slash := strings.LastIndexByte(path, '/')
	if dot < 0 || dot < slash {
		writeError(w, "xml", fail(http.StatusNotFound, "no such resource %q: paths end in .xml or .json", path))
		return
	}
	res, format := path[:dot], path[dot+1:]
	if format != "xml" && format != "json" {
		writeError(w, "xml", fail(http.StatusNotFound, "unknown format %q: use .xml or .json", format))
		return
	}
	var err error
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	allow := func(m string) bool {
		if method == m {
			return true
		}
		w.Header().Set("Allow", m)
		err = fail(http.StatusMethodNotAllowed, "method %s not allowed here; use %s", r.Method, m)
		return false
	}
	if q := r.URL.Query().Get("jurisdiction_id"); q != "" && s.cfg.Jurisdiction != "" && q != s.cfg.Jurisdiction {
		writeError(w, format, fail(http.StatusNotFound, "jurisdiction_id %q not served here", q))
		return
	}
	switch {
	case res == "discovery":
		if allow(http.MethodGet) {
			err = s.discovery(w, r, format)
		}
	case res == "services":
		if allow(http.MethodGet) {
			err = s.services(w, format)
		}
	case strings.HasPrefix(res, "services/") && !strings.Contains(res[len("services/"):], "/"):
		if allow(http.MethodGet) {
			err = s.definition(w, format, res[len("services/"):])
		}
	case res == "requests":
		switch method {
		case http.MethodGet:
			err = s.listRequests(w, r, format)
		case http.MethodPost:
			err = s.postRequest(w, r, format)
		default:
			w.Header().Set("Allow", "GET, POST")
			err = fail(http.StatusMethodNotAllowed, "method %s not allowed here; use GET or POST", r.Method)
		}
	case strings.HasPrefix(res, "requests/") && !strings.Contains(res[len("requests/"):], "/"):
		if allow(http.MethodGet) {
			err = s.getRequest(w, r, format, res[len("requests/"):])
		}
	case res == "servicerequestupdates":
		if allow(http.MethodGet) {
			err = s.updates(w, r, format)
		}
	case strings.HasPrefix(res, "tokens/") && !strings.Contains(res[len("tokens/"):], "/"):
		if allow(http.MethodGet) {
			err = s.token(w, r, format, res[len("tokens/"):])
		}
	default:
		err = fail(http.StatusNotFound, "no such resource %q", res)
	}
	if err != nil {
		writeError(w, format, fromError(err))
	}
}

// Discovery.

type discoveryDoc struct {
	XMLName    xml.Name   `json:"-" xml:"discovery"`
	Changeset  string     `json:"changeset" xml:"changeset"`
	Contact    string     `json:"contact" xml:"contact"`
	KeyService string     `json:"key_service" xml:"key_service"`
	Endpoints  []endpoint `json:"endpoints" xml:"endpoints>endpoint"`
}

type endpoint struct {
	Specification string   `json:"specification" xml:"specification"`
	URL           string   `json:"url" xml:"url"`
	Changeset     string   `json:"changeset" xml:"changeset"`
	Type          string   `json:"type" xml:"type"`
	Formats       []string `json:"formats" xml:"formats>format"`
}

func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return strings.TrimSuffix(s.cfg.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.cfg.Prefix
}

func (s *Server) discovery(w http.ResponseWriter, r *http.Request, format string) error {
	cs := s.fmtTime(s.cfg.Changeset)
	d := discoveryDoc{Changeset: cs, Contact: s.cfg.Contact, KeyService: s.cfg.KeyService,
		Endpoints: []endpoint{{Specification: Specification, URL: s.baseURL(r), Changeset: cs, Type: "production",
			Formats: []string{"text/xml", "application/json"}}}}
	writeBody(w, format, http.StatusOK, d, d)
	return nil
}

// Services.

type service struct {
	ServiceCode string `json:"service_code" xml:"service_code"`
	ServiceName string `json:"service_name" xml:"service_name"`
	Description string `json:"description" xml:"description"`
	Metadata    bool   `json:"metadata" xml:"metadata"`
	Type        string `json:"type" xml:"type"`
	Keywords    string `json:"keywords" xml:"keywords"`
	Group       string `json:"group" xml:"group"`
}

type servicesXML struct {
	XMLName  xml.Name  `xml:"services"`
	Services []service `xml:"service"`
}

func catName(c workorder.Category) string {
	if c.NameEn == "" {
		return c.NameZh
	}
	return c.NameZh + " " + c.NameEn
}

func (s *Server) services(w http.ResponseWriter, format string) error {
	dict := s.svc.Dictionary()
	out := []service{}
	for _, c := range dict.Categories() {
		group := catName(c)
		if c.Parent != "" {
			if p, ok := dict.Category(dict.Root(c.Code)); ok {
				group = catName(p)
			}
		}
		desc := catName(c)
		if len(c.Examples) > 0 {
			desc += "：" + strings.Join(c.Examples, "、")
		}
		out = append(out, service{ServiceCode: c.Code, ServiceName: catName(c), Description: desc,
			Metadata: len(s.attrs[c.Code]) > 0, Type: "realtime", Keywords: strings.Join(c.Examples, ","), Group: group})
	}
	writeBody(w, format, http.StatusOK, out, servicesXML{Services: out})
	return nil
}

type definitionDoc struct {
	XMLName     xml.Name    `json:"-" xml:"service_definition"`
	ServiceCode string      `json:"service_code" xml:"service_code"`
	Attributes  []Attribute `json:"attributes" xml:"attributes>attribute"`
}

func (s *Server) definition(w http.ResponseWriter, format, code string) error {
	if _, ok := s.svc.Dictionary().Category(code); !ok {
		return fail(http.StatusNotFound, "service_code %q not found", code)
	}
	as := s.attrs[code]
	if len(as) == 0 {
		// metadata=false: clients need not ask, but one that does (a generic client walking
		// every service) gets a definition without attributes rather than an error.
		as = []Attribute{}
	}
	d := definitionDoc{ServiceCode: code, Attributes: as}
	writeBody(w, format, http.StatusOK, d, d)
	return nil
}

// Requests.

type requestDoc struct {
	ServiceRequestID  string   `json:"service_request_id" xml:"service_request_id"`
	Status            string   `json:"status" xml:"status"`
	StatusNotes       string   `json:"status_notes" xml:"status_notes"`
	ServiceName       string   `json:"service_name" xml:"service_name"`
	ServiceCode       string   `json:"service_code" xml:"service_code"`
	Description       string   `json:"description" xml:"description"`
	AgencyResponsible string   `json:"agency_responsible" xml:"agency_responsible"`
	ServiceNotice     string   `json:"service_notice" xml:"service_notice"`
	RequestedDatetime string   `json:"requested_datetime" xml:"requested_datetime"`
	UpdatedDatetime   string   `json:"updated_datetime" xml:"updated_datetime"`
	ExpectedDatetime  string   `json:"expected_datetime" xml:"expected_datetime"`
	Address           string   `json:"address" xml:"address"`
	AddressID         string   `json:"address_id" xml:"address_id"`
	Zipcode           string   `json:"zipcode" xml:"zipcode"`
	Lat               *float64 `json:"lat" xml:"lat"`
	Long              *float64 `json:"long" xml:"long"`
	MediaURL          string   `json:"media_url" xml:"media_url"`
}

type requestsXML struct {
	XMLName  xml.Name     `xml:"service_requests"`
	Requests []requestDoc `xml:"request"`
}

func (s *Server) fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(s.cfg.Location).Format(time.RFC3339)
}

// Personal data typed into descriptions (mobile numbers, ID card numbers) is masked on this
// public surface.
var (
	reMobile = regexp.MustCompile(`\b(1[3-9]\d)\d{4}(\d{4})\b`)
	reIDCard = regexp.MustCompile(`\b(\d{6})\d{8}(\d{3}[\dXx])\b`)
)

func maskPersonal(s string) string {
	// Most texts hold no run of 11 digits; skip the regular expressions for them.
	run, long := 0, false
	for i := 0; i < len(s) && !long; i++ {
		if s[i] >= '0' && s[i] <= '9' {
			run++
			long = run >= 11
		} else {
			run = 0
		}
	}
	if !long {
		return s
	}
	s = reIDCard.ReplaceAllString(s, "$1********$2")
	return reMobile.ReplaceAllString(s, "$1****$2")
}

func (s *Server) toDoc(o *workorder.Order, dict *workorder.Dictionary) requestDoc {
	code := o.Category
	if o.Subcategory != "" {
		code = o.Subcategory
	}
	d := requestDoc{ServiceRequestID: o.TrackingNo, Status: workorder.PublicStatus(o), StatusNotes: maskPersonal(o.StatusNotes),
		ServiceCode: code, Description: maskPersonal(o.Description), RequestedDatetime: s.fmtTime(o.CreatedAt),
		UpdatedDatetime: s.fmtTime(o.UpdatedAt), Address: maskPersonal(o.Address), AddressID: o.AddressID, Zipcode: o.Zipcode}
	if c, ok := dict.Category(code); ok {
		d.ServiceName = catName(c)
	}
	if o.LeadDept != "" {
		d.AgencyResponsible = o.LeadDept
		if dep, ok := dict.Department(o.LeadDept); ok {
			d.AgencyResponsible = dep.NameZh
		}
		if o.LeadDept == workorder.StreetOffice && o.Street != "" {
			d.AgencyResponsible += " " + o.Street
		}
	}
	if o.Open() && !o.Deadline.IsZero() {
		d.ExpectedDatetime = s.fmtTime(o.Deadline)
		if o.RespondedAt.IsZero() {
			d.ServiceNotice = "承诺" + o.Deadline.In(s.cfg.Location).Format("2006-01-02 15:04") + "前答复 reply promised by " + d.ExpectedDatetime
		}
	}
	if o.Resolution == workorder.ResolutionDuplicate && o.DuplicateOf != 0 {
		d.ServiceNotice = "已与其他诉求合并处理 merged with an earlier report"
	}
	if o.HasLocation {
		lat, lon := o.Lat, o.Lon
		d.Lat, d.Long = &lat, &lon
	}
	if len(o.Media) > 0 {
		d.MediaURL = o.Media[0]
	}
	return d
}

func (s *Server) writeRequests(w http.ResponseWriter, format string, orders []*workorder.Order) {
	dict := s.svc.Dictionary()
	out := make([]requestDoc, 0, len(orders))
	for _, o := range orders {
		out = append(out, s.toDoc(o, dict))
	}
	writeBody(w, format, http.StatusOK, out, requestsXML{Requests: out})
}

func (s *Server) getRequest(w http.ResponseWriter, r *http.Request, format, id string) error {
	if !workorder.ValidTrackingNumber(id) {
		return fail(http.StatusNotFound, "service_request_id %q not found", id)
	}
	o, err := s.svc.PublicGetByTrackingNo(r.Context(), id)
	if err != nil {
		return err
	}
	s.writeRequests(w, format, []*workorder.Order{o})
	return nil
}

// ParseDatetime reads a W3C datetime that carries a timezone (YYYY-MM-DDThh:mm[:ss[.s]]TZD).
func ParseDatetime(field, v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	// A '+' offset sent unencoded (curl '...?start_date=2026-11-28T00:00:00+08:00') arrives
	// as a space, since query strings decode '+' as ' ': read it as the '+' it was.
	if i := strings.LastIndexByte(v, ' '); i > 0 && strings.IndexByte(v[:i], 'T') > 0 {
		v = v[:i] + "+" + v[i+1:]
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, citybrain.FieldError(field, "%s must be a W3C datetime with a timezone, e.g. 2026-11-28T08:00:00+08:00, got %q", field, v)
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// MaxRange is the longest start_date–end_date span the spec allows.
const MaxRange = 90 * 24 * time.Hour

// MaxPageSize caps page_size and the default result count.
const MaxPageSize = 1000

// RequestsQuery is a parsed GET requests query.
type RequestsQuery struct {
	Filter   workorder.Filter
	Page     int
	PageSize int
}

// ParseRequestsQuery turns the query parameters of GET requests into a filter, applying the
// spec's defaults: the last 90 days, at most 90 days, at most 1000 results.
func ParseRequestsQuery(q url.Values, now time.Time, dict *workorder.Dictionary) (RequestsQuery, error) {
	rq := RequestsQuery{Page: 1, PageSize: MaxPageSize}
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			return rq, citybrain.FieldError("page_size", "page_size must be 1..%d", MaxPageSize)
		}
		rq.PageSize = n
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000000 {
			return rq, citybrain.FieldError("page", "page must be a whole number from 1")
		}
		rq.Page = n
	}
	f := &rq.Filter
	f.Limit, f.Offset = rq.PageSize, (rq.Page-1)*rq.PageSize
	if v := q.Get("service_request_id"); v != "" {
		ids := splitList(v)
		if len(ids) > MaxPageSize {
			return rq, citybrain.FieldError("service_request_id", "at most %d ids", MaxPageSize)
		}
		// An id that is not a tracking number simply matches nothing: the spec answers a
		// list of the requests found, not an error for the ones that were not.
		f.TrackingNos = ids
		return rq, nil // overrides every other parameter
	}
	if v := q.Get("service_code"); v != "" {
		for _, code := range splitList(v) {
			c, ok := dict.Category(code)
			if !ok {
				return rq, citybrain.FieldError("service_code", "unknown service_code %q", code)
			}
			if c.Parent == "" {
				f.Categories = append(f.Categories, code)
			} else {
				f.Subcategories = append(f.Subcategories, code)
			}
		}
	}
	var start, end time.Time
	var err error
	if v := q.Get("start_date"); v != "" {
		if start, err = ParseDatetime("start_date", v); err != nil {
			return rq, err
		}
	}
	if v := q.Get("end_date"); v != "" {
		if end, err = ParseDatetime("end_date", v); err != nil {
			return rq, err
		}
	}
	switch {
	case start.IsZero() && end.IsZero():
		end = now
		start = end.Add(-MaxRange)
	case start.IsZero():
		start = end.Add(-MaxRange)
	case end.IsZero():
		end = start.Add(MaxRange)
	}
	if end.Before(start) {
		return rq, citybrain.FieldError("end_date", "end_date is before start_date")
	}
	if end.Sub(start) > MaxRange {
		return rq, citybrain.FieldError("end_date", "the date range may not span more than 90 days")
	}
	f.From, f.To = start, end.Add(time.Millisecond) // end_date is inclusive
	if v := q.Get("status"); v != "" {
		var wantOpen, wantClosed bool
		for _, st := range splitList(v) {
			switch strings.ToLower(st) {
			case "open":
				wantOpen = true
			case "closed":
				wantClosed = true
			default:
				return rq, citybrain.FieldError("status", "status must be open, closed or both, got %q", st)
			}
		}
		if wantOpen != wantClosed {
			f.Open = &wantOpen
		}
	}
	if v := q.Get("agency_responsible"); v != "" { // FixMyStreet's extension: one department code
		if _, ok := dict.Department(v); !ok {
			return rq, citybrain.FieldError("agency_responsible", "unknown agency %q", v)
		}
		f.LeadDept = v
	}
	return rq, nil
}

func (s *Server) listRequests(w http.ResponseWriter, r *http.Request, format string) error {
	rq, err := ParseRequestsQuery(r.URL.Query(), s.cfg.Now(), s.svc.Dictionary())
	if err != nil {
		return err
	}
	orders, err := s.svc.PublicList(r.Context(), rq.Filter)
	if err != nil {
		return err
	}
	s.writeRequests(w, format, orders)
	return nil
}

type tokenDoc struct {
	ServiceRequestID string `json:"service_request_id" xml:"service_request_id"`
	Token            string `json:"token" xml:"token"`
}

type tokensXML struct {
	XMLName  xml.Name   `xml:"service_requests"`
	Requests []tokenDoc `xml:"request"`
}

func (s *Server) token(w http.ResponseWriter, r *http.Request, format, token string) error {
	if token == "" || len(token) > 128 {
		return fail(http.StatusNotFound, "token not found")
	}
	o, err := s.svc.PublicGetByToken(r.Context(), token)
	if err != nil {
		return err
	}
	out := []tokenDoc{{ServiceRequestID: o.TrackingNo, Token: token}}
	writeBody(w, format, http.StatusOK, out, tokensXML{Requests: out})
	return nil
}

type postedDoc struct {
	ServiceRequestID string `json:"service_request_id" xml:"service_request_id"`
	ServiceNotice    string `json:"service_notice" xml:"service_notice"`
	AccountID        string `json:"account_id" xml:"account_id"`
}

type postedXML struct {
	XMLName  xml.Name    `xml:"service_requests"`
	Requests []postedDoc `xml:"request"`
}

// MaxPostBody caps the POST form.
const MaxPostBody = 1 << 20

// reportingRoles may file requests with their API key (auditors and devices may not).
var reportingRoles = [...]string{citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleDept, citybrain.RoleWorker, citybrain.RoleCitizen}

// ParsePost reads a POST requests form into a report, validating the attributes against the
// service definition. It does not check the api_key.
func ParsePost(form url.Values, dict *workorder.Dictionary, attrs map[string][]Attribute) (workorder.NewReport, error) {
	in := workorder.NewReport{Source: workorder.SourceOpen311}
	code := strings.TrimSpace(form.Get("service_code"))
	if code == "" {
		return in, citybrain.FieldError("service_code", "service_code is required")
	}
	if _, ok := dict.Category(code); !ok {
		return in, citybrain.FieldError("service_code", "unknown service_code %q", code)
	}
	in.Category = code
	latS, lonS := strings.TrimSpace(form.Get("lat")), strings.TrimSpace(form.Get("long"))
	if latS != "" || lonS != "" {
		lat, err1 := strconv.ParseFloat(latS, 64)
		lon, err2 := strconv.ParseFloat(lonS, 64)
		if err1 != nil || err2 != nil || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
			return in, citybrain.FieldError("lat", "lat and long must both be WGS84 decimal degrees")
		}
		in.HasLocation, in.Lat, in.Lon = true, lat, lon
	}
	in.Address = strings.TrimSpace(form.Get("address_string"))
	in.AddressID = strings.TrimSpace(form.Get("address_id"))
	if !in.HasLocation && in.Address == "" && in.AddressID == "" {
		return in, citybrain.FieldError("lat", "a location is required: lat and long, address_string or address_id")
	}
	in.Description = form.Get("description")
	if n := utf8.RuneCountInString(in.Description); n > 4000 {
		return in, citybrain.FieldError("description", "description is limited to 4000 characters, got %d", n)
	}
	if !utf8.ValidString(in.Description) {
		return in, citybrain.FieldError("description", "description must be UTF-8")
	}
	if m := strings.TrimSpace(form.Get("media_url")); m != "" {
		u, err := url.Parse(m)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(m) > 2000 {
			return in, citybrain.FieldError("media_url", "media_url must be an http(s) URL")
		}
		in.Media = []string{m}
	}
	in.Zipcode = strings.TrimSpace(form.Get("zipcode"))
	name := strings.TrimSpace(strings.TrimSpace(form.Get("last_name")) + strings.TrimSpace(form.Get("first_name")))
	in.Reporter = workorder.Reporter{Name: name, Phone: strings.TrimSpace(form.Get("phone")), Email: strings.TrimSpace(form.Get("email")),
		DeviceID: strings.TrimSpace(form.Get("device_id")), AccountID: strings.TrimSpace(form.Get("account_id"))}
	for field, v := range map[string]string{"first_name": form.Get("first_name"), "last_name": form.Get("last_name"), "phone": in.Reporter.Phone,
		"email": in.Reporter.Email, "device_id": in.Reporter.DeviceID, "account_id": in.Reporter.AccountID, "zipcode": in.Zipcode, "address_id": in.AddressID} {
		if utf8.RuneCountInString(v) > 200 {
			return in, citybrain.FieldError(field, "%s is too long (max 200)", field)
		}
	}
	// attribute[code]=v, attribute[code][]=v for multivaluelist.
	given := map[string][]string{}
	for k, vs := range form {
		if !strings.HasPrefix(k, "attribute[") {
			continue
		}
		rest := strings.TrimPrefix(k, "attribute[")
		end := strings.IndexByte(rest, ']')
		if end <= 0 {
			return in, citybrain.FieldError("attribute", "malformed attribute parameter %q", k)
		}
		c := rest[:end]
		if tail := rest[end+1:]; tail != "" && tail != "[]" {
			return in, citybrain.FieldError("attribute", "malformed attribute parameter %q", k)
		}
		given[c] = append(given[c], vs...)
	}
	defs := attrs[code]
	if c, ok := dict.Category(code); ok && len(defs) == 0 && c.Parent != "" {
		defs = attrs[dict.Root(code)]
	}
	known := map[string]Attribute{}
	for _, a := range defs {
		known[a.Code] = a
	}
	for c := range given {
		if _, ok := known[c]; !ok {
			return in, citybrain.FieldError("attribute["+c+"]", "service %s has no attribute %q", code, c)
		}
	}
	for _, a := range defs {
		vs := given[a.Code]
		var clean []string
		for _, v := range vs {
			if v = strings.TrimSpace(v); v != "" {
				clean = append(clean, v)
			}
		}
		if len(clean) == 0 {
			if a.Required && a.Variable {
				return in, citybrain.FieldError("attribute["+a.Code+"]", "attribute %s is required: %s", a.Code, a.Description)
			}
			continue
		}
		if a.Datatype != "multivaluelist" && len(clean) > 1 {
			return in, citybrain.FieldError("attribute["+a.Code+"]", "attribute %s takes one value", a.Code)
		}
		for _, v := range clean {
			if utf8.RuneCountInString(v) > 4000 {
				return in, citybrain.FieldError("attribute["+a.Code+"]", "attribute %s is too long", a.Code)
			}
			switch a.Datatype {
			case "number":
				if _, err := strconv.ParseFloat(v, 64); err != nil {
					return in, citybrain.FieldError("attribute["+a.Code+"]", "attribute %s must be a number", a.Code)
				}
			case "datetime":
				if _, err := ParseDatetime("attribute["+a.Code+"]", v); err != nil {
					return in, err
				}
			case "singlevaluelist", "multivaluelist":
				ok := false
				for _, x := range a.Values {
					if x.Key == v {
						ok = true
					}
				}
				if !ok {
					return in, citybrain.FieldError("attribute["+a.Code+"]", "attribute %s: %q is not one of the listed keys", a.Code, v)
				}
			}
		}
		if in.Attributes == nil {
			in.Attributes = map[string]string{}
		}
		in.Attributes[a.Code] = strings.Join(clean, ",")
	}
	return in, nil
}

func (s *Server) postRequest(w http.ResponseWriter, r *http.Request, format string) error {
	r.Body = http.MaxBytesReader(w, r.Body, MaxPostBody)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	if mt == "multipart/form-data" {
		err = r.ParseMultipartForm(MaxPostBody)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		return fail(http.StatusBadRequest, "the body must be application/x-www-form-urlencoded: %v", err)
	}
	form := r.PostForm
	if mt == "multipart/form-data" && r.MultipartForm != nil {
		form = url.Values(r.MultipartForm.Value)
	}
	if len(form) == 0 {
		form = r.Form
	}
	key := form.Get("api_key")
	if key == "" {
		key = r.URL.Query().Get("api_key")
	}
	if key == "" {
		return fail(http.StatusForbidden, "api_key is required")
	}
	if s.check == nil {
		return fail(http.StatusForbidden, "api_key not accepted")
	}
	actor, err := s.check(r.Context(), key)
	if err != nil || actor == nil {
		return fail(http.StatusForbidden, "api_key is not valid")
	}
	if !actor.Is(reportingRoles[:]...) {
		return fail(http.StatusForbidden, "this api_key's user may not submit requests")
	}
	if j := form.Get("jurisdiction_id"); j != "" && s.cfg.Jurisdiction != "" && j != s.cfg.Jurisdiction {
		return fail(http.StatusNotFound, "jurisdiction_id %q not served here", j)
	}
	in, err := ParsePost(form, s.svc.Dictionary(), s.attrs)
	if err != nil {
		return err
	}
	ctx := citybrain.WithActor(r.Context(), actor)
	res, err := s.svc.Create(ctx, in)
	if err != nil {
		return err
	}
	notice := s.toDoc(res.Order, s.svc.Dictionary()).ServiceNotice
	if res.MergedInto != nil {
		notice = "已与诉求" + res.MergedInto.TrackingNo + "合并处理 merged with request " + res.MergedInto.TrackingNo
	}
	out := []postedDoc{{ServiceRequestID: res.Order.TrackingNo, ServiceNotice: notice, AccountID: in.Reporter.AccountID}}
	writeBody(w, format, http.StatusOK, out, postedXML{Requests: out})
	return nil
}

type updateDoc struct {
	UpdateID           string `json:"update_id" xml:"update_id"`
	ServiceRequestID   string `json:"service_request_id" xml:"service_request_id"`
	Status             string `json:"status" xml:"status"`
	UpdatedDatetime    string `json:"updated_datetime" xml:"updated_datetime"`
	Description        string `json:"description" xml:"description"`
	MediaURL           string `json:"media_url" xml:"media_url"`
	ExternalStatusCode string `json:"external_status_code" xml:"external_status_code"`
}

type updatesXML struct {
	XMLName xml.Name    `xml:"service_requests_updates"`
	Updates []updateDoc `xml:"request_update"`
}

// updates serves FixMyStreet's servicerequestupdates extension: the public moves of all
// requests in [start_date, end_date] (default the last 24 hours, at most 90 days), oldest
// first, at most 1000. An api_key is optional; a wrong one is 403.
func (s *Server) updates(w http.ResponseWriter, r *http.Request, format string) error {
	q := r.URL.Query()
	if key := q.Get("api_key"); key != "" {
		if s.check == nil {
			return fail(http.StatusForbidden, "api_key not accepted")
		}
		if a, err := s.check(r.Context(), key); err != nil || a == nil {
			return fail(http.StatusForbidden, "api_key is not valid")
		}
	}
	var start, end time.Time
	var err error
	if v := q.Get("start_date"); v != "" {
		if start, err = ParseDatetime("start_date", v); err != nil {
			return err
		}
	}
	if v := q.Get("end_date"); v != "" {
		if end, err = ParseDatetime("end_date", v); err != nil {
			return err
		}
	}
	if end.IsZero() {
		end = s.cfg.Now()
	}
	if start.IsZero() {
		start = end.Add(-24 * time.Hour)
	}
	if end.Before(start) || end.Sub(start) > MaxRange {
		return citybrain.FieldError("end_date", "the date range must be positive and at most 90 days")
	}
	us, err := s.svc.PublicUpdates(r.Context(), start, end.Add(time.Millisecond), MaxPageSize)
	if err != nil {
		return err
	}
	out := make([]updateDoc, 0, len(us))
	for _, u := range us {
		st, ext := workorder.UpdateStatus(u)
		d := updateDoc{UpdateID: strconv.FormatInt(u.ID, 10), ServiceRequestID: u.TrackingNo, Status: st,
			UpdatedDatetime: s.fmtTime(u.At), Description: maskPersonal(u.Reason), ExternalStatusCode: ext}
		if len(u.Attachments) > 0 {
			d.MediaURL = u.Attachments[0]
		}
		out = append(out, d)
	}
	writeBody(w, format, http.StatusOK, out, updatesXML{Updates: out})
	return nil
}
