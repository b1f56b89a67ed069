package open311_test

// A conformance checker written from the GeoReport v2 specification
// (open311.github.io GeoReport/v2/index.md and Service_Discovery.md): every method in XML and
// JSON, every error status (400, 403, 404) with the spec's error bodies, content types,
// service_request_id/service_code as strings, the 90-day window and the 1000 limit, and the
// page/page_size extension.

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/open311"
	"github.com/citybrain/citybrain/internal/workorder"
)

type env struct {
	t     *testing.T
	srv   *httptest.Server
	svc   *workorder.Service
	clock *citybrain.FixedClock
}

func keys(ctx context.Context, key string) (*citybrain.Actor, error) {
	switch key {
	case "citizen-key":
		return &citybrain.Actor{UserID: 10, Username: "市民", Role: citybrain.RoleCitizen}, nil
	case "admin-key":
		return &citybrain.Actor{UserID: 1, Username: "admin", Role: citybrain.RoleAdmin}, nil
	case "auditor-key":
		return &citybrain.Actor{UserID: 2, Username: "audit", Role: citybrain.RoleAuditor}, nil
	}
	return nil, citybrain.Errorf(citybrain.EUNAUTHORIZED, "bad token")
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clock := &citybrain.FixedClock{T: time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)}
	svc, err := workorder.New(context.Background(), workorder.Options{Repo: workorder.NewMemoryRepository(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	h, err := open311.New(svc, keys, open311.Config{Now: clock.Now, Jurisdiction: "hexi.example.cn"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/open311/v2/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, svc: svc, clock: clock}
}

type resp struct {
	status int
	ctype  string
	body   []byte
	allow  string
}

func (e *env) do(method, path string, form url.Values) resp {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.srv.URL+"/open311/v2/"+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, ctype: res.Header.Get("Content-Type"), body: b, allow: res.Header.Get("Allow")}
}

// decode checks the content type of the format and decodes the body.
func decode(t *testing.T, format string, r resp, jsonV, xmlV any) {
	t.Helper()
	switch format {
	case "json":
		if r.ctype != "application/json; charset=utf-8" {
			t.Fatalf("content type %q", r.ctype)
		}
		if err := json.Unmarshal(r.body, jsonV); err != nil {
			t.Fatalf("json: %v\n%s", err, r.body)
		}
	default:
		if r.ctype != "text/xml; charset=utf-8" {
			t.Fatalf("content type %q", r.ctype)
		}
		if !strings.HasPrefix(string(r.body), "<?xml") {
			t.Fatalf("no XML declaration: %s", r.body)
		}
		if err := xml.Unmarshal(r.body, xmlV); err != nil {
			t.Fatalf("xml: %v\n%s", err, r.body)
		}
	}
}

type xmlErrors struct {
	XMLName xml.Name `xml:"errors"`
	Errors  []struct {
		Code        string `xml:"code"`
		Description string `xml:"description"`
	} `xml:"error"`
}

// expectError checks the status and the spec's error body in the format.
func expectError(t *testing.T, format string, r resp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if format == "json" {
		var errs []struct {
			Code        json.Number `json:"code"`
			Description string      `json:"description"`
		}
		decode(t, format, r, &errs, nil)
		if len(errs) == 0 || errs[0].Code.String() != fmt.Sprint(status) || errs[0].Description == "" {
			t.Fatalf("json error body %s", r.body)
		}
		return
	}
	var x xmlErrors
	decode(t, format, r, nil, &x)
	if len(x.Errors) == 0 || x.Errors[0].Code != fmt.Sprint(status) || x.Errors[0].Description == "" {
		t.Fatalf("xml error body %s", r.body)
	}
}

var formats = []string{"xml", "json"}

func TestDiscovery(t *testing.T) {
	e := newEnv(t)
	type ep struct {
		Specification string   `json:"specification" xml:"specification"`
		URL           string   `json:"url" xml:"url"`
		Changeset     string   `json:"changeset" xml:"changeset"`
		Type          string   `json:"type" xml:"type"`
		Formats       []string `json:"formats" xml:"formats>format"`
	}
	type disc struct {
		XMLName    xml.Name `json:"-" xml:"discovery"`
		Changeset  string   `json:"changeset" xml:"changeset"`
		Contact    string   `json:"contact" xml:"contact"`
		KeyService string   `json:"key_service" xml:"key_service"`
		Endpoints  []ep     `json:"endpoints" xml:"endpoints>endpoint"`
	}
	for _, f := range formats {
		t.Run(f, func(t *testing.T) {
			r := e.do("GET", "discovery."+f, nil)
			if r.status != 200 {
				t.Fatalf("status %d", r.status)
			}
			var d disc
			decode(t, f, r, &d, &d)
			if d.Changeset == "" || d.Contact == "" || d.KeyService == "" || len(d.Endpoints) != 1 {
				t.Fatalf("discovery %+v", d)
			}
			x := d.Endpoints[0]
			if x.Specification != "http://wiki.open311.org/GeoReport_v2" || x.URL != e.srv.URL+"/open311/v2" || x.Type != "production" ||
				strings.Join(x.Formats, ",") != "text/xml,application/json" {
				t.Fatalf("endpoint %+v", x)
			}
			if _, err := time.Parse(time.RFC3339, x.Changeset); err != nil {
				t.Fatalf("changeset %q is not a W3C datetime", x.Changeset)
			}
		})
	}
}

type svcDoc struct {
	ServiceCode string `json:"service_code" xml:"service_code"`
	ServiceName string `json:"service_name" xml:"service_name"`
	Description string `json:"description" xml:"description"`
	Metadata    bool   `json:"metadata" xml:"metadata"`
	Type        string `json:"type" xml:"type"`
	Keywords    string `json:"keywords" xml:"keywords"`
	Group       string `json:"group" xml:"group"`
}

func TestServiceListAndDefinitions(t *testing.T) {
	e := newEnv(t)
	for _, f := range formats {
		t.Run(f, func(t *testing.T) {
			r := e.do("GET", "services."+f+"?jurisdiction_id=hexi.example.cn", nil)
			var list []svcDoc
			var xl struct {
				XMLName  xml.Name `xml:"services"`
				Services []svcDoc `xml:"service"`
			}
			decode(t, f, r, &list, &xl)
			if f == "xml" {
				list = xl.Services
			}
			if len(list) != 20 {
				t.Fatalf("services %d", len(list))
			}
			meta := map[string]bool{}
			for _, s := range list {
				if s.ServiceCode == "" || s.ServiceName == "" || s.Type != "realtime" || s.Group == "" {
					t.Errorf("incomplete service %+v", s)
				}
				meta[s.ServiceCode] = s.Metadata
			}
			if !meta["ROAD"] || !meta["NOISE"] || meta["OTHER"] {
				t.Errorf("metadata flags %v", meta)
			}
			if f == "json" && !strings.Contains(string(r.body), `"service_code":"DRAINAGE"`) {
				t.Error("service_code not a JSON string")
			}
			// Definition with attributes and values.
			type attr struct {
				Variable bool   `json:"variable" xml:"variable"`
				Code     string `json:"code" xml:"code"`
				Datatype string `json:"datatype" xml:"datatype"`
				Required bool   `json:"required" xml:"required"`
				Order    int    `json:"order" xml:"order"`
				Values   []struct {
					Key  string `json:"key" xml:"key"`
					Name string `json:"name" xml:"name"`
				} `json:"values" xml:"values>value"`
			}
			var def struct {
				XMLName     xml.Name `json:"-" xml:"service_definition"`
				ServiceCode string   `json:"service_code" xml:"service_code"`
				Attributes  []attr   `json:"attributes" xml:"attributes>attribute"`
			}
			decode(t, f, e.do("GET", "services/NOISE."+f, nil), &def, &def)
			if def.ServiceCode != "NOISE" || len(def.Attributes) != 3 || def.Attributes[0].Code != "when" || !def.Attributes[0].Required ||
				!def.Attributes[0].Variable || def.Attributes[1].Datatype != "multivaluelist" || len(def.Attributes[1].Values) != 4 {
				t.Fatalf("definition %+v", def)
			}
			expectError(t, f, e.do("GET", "services/NOPE."+f, nil), 404)
			// metadata=false: a definition without attributes, not an error.
			var other struct {
				XMLName     xml.Name `json:"-" xml:"service_definition"`
				ServiceCode string   `json:"service_code" xml:"service_code"`
				Attributes  []attr   `json:"attributes" xml:"attributes>attribute"`
			}
			if r := e.do("GET", "services/OTHER."+f, nil); r.status != 200 {
				t.Fatalf("definition of a metadata=false service: %d %s", r.status, r.body)
			} else if decode(t, f, r, &other, &other); other.ServiceCode != "OTHER" || len(other.Attributes) != 0 {
				t.Fatalf("definition of OTHER %+v", other)
			}
			if f == "json" && !strings.Contains(string(e.do("GET", "services/OTHER.json", nil).body), `"attributes":[]`) {
				t.Error("attributes of OTHER not an empty JSON array")
			}
			// The simplest client posts to the first service listed with a location and a
			// description only: the first service asks no required question.
			r = e.do("POST", "requests."+f, post("api_key", "admin-key", "service_code", list[0].ServiceCode, "lat", "39.1", "long", "117.2", "description", "路面塌陷"))
			if r.status != 200 && r.status != 201 {
				t.Fatalf("POST to the first service %s without attributes: %d %s", list[0].ServiceCode, r.status, r.body)
			}
			expectError(t, f, e.do("GET", "services."+f+"?jurisdiction_id=elsewhere", nil), 404)
		})
	}
}

type reqDoc struct {
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
	Token             string   `json:"token" xml:"token"`
	AccountID         string   `json:"account_id" xml:"account_id"`
}

type reqsXML struct {
	XMLName  xml.Name `xml:"service_requests"`
	Requests []reqDoc `xml:"request"`
}

func (e *env) requests(format string, r resp) []reqDoc {
	e.t.Helper()
	if r.status != 200 {
		e.t.Fatalf("status %d: %s", r.status, r.body)
	}
	var list []reqDoc
	var x reqsXML
	decode(e.t, format, r, &list, &x)
	if format == "xml" {
		list = x.Requests
	}
	return list
}

func post(fields ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(fields); i += 2 {
		v.Add(fields[i], fields[i+1])
	}
	return v
}

func TestPostAndGetRequest(t *testing.T) {
	e := newEnv(t)
	for _, f := range formats {
		t.Run(f, func(t *testing.T) {
			r := e.do("POST", "requests."+f, post("api_key", "citizen-key", "service_code", "DRAINAGE", "lat", "39.1", "long", "117.2",
				"description", "小区门口下水道堵塞，联系电话13812345678", "attribute[water_depth_cm]", "15", "attribute[sewage]", "yes",
				"first_name", "三", "last_name", "张", "email", "z@example.cn", "account_id", "acc-1", "media_url", "https://img.example.cn/a.jpg",
				"jurisdiction_id", "hexi.example.cn"))
			posted := e.requests(f, r)
			if len(posted) != 1 || posted[0].ServiceRequestID == "" || posted[0].Token != "" || posted[0].AccountID != "acc-1" || posted[0].ServiceNotice == "" {
				t.Fatalf("POST response %s", r.body)
			}
			id := posted[0].ServiceRequestID
			got := e.requests(f, e.do("GET", "requests/"+id+"."+f, nil))
			if len(got) != 1 {
				t.Fatalf("GET request: %d", len(got))
			}
			g := got[0]
			if g.ServiceRequestID != id || g.Status != "open" || g.ServiceCode != "DRAINAGE" || !strings.HasPrefix(g.ServiceName, "排水") ||
				g.AgencyResponsible != "区水务局" || g.Lat == nil || *g.Lat != 39.1 || *g.Long != 117.2 || g.MediaURL != "https://img.example.cn/a.jpg" {
				t.Fatalf("request %+v", g)
			}
			if strings.Contains(g.Description, "13812345678") || !strings.Contains(g.Description, "138****5678") {
				t.Errorf("phone number not masked: %q", g.Description)
			}
			req, _ := time.Parse(time.RFC3339, g.RequestedDatetime)
			exp, err := time.Parse(time.RFC3339, g.ExpectedDatetime)
			if err != nil || !exp.Equal(req.Add(24*time.Hour)) || !strings.HasSuffix(g.ExpectedDatetime, "+08:00") {
				t.Fatalf("expected_datetime %q (requested %q)", g.ExpectedDatetime, g.RequestedDatetime)
			}
			// address_string alone, address_id alone, multivaluelist, exactly 4000 characters.
			for _, form := range []url.Values{
				post("api_key", "admin-key", "service_code", "ROAD", "address_string", "友谊路100号", "attribute[hazard]", "pothole"),
				post("api_key", "citizen-key", "service_code", "OTHER", "address_id", "addr-77", "description", strings.Repeat("问", 4000)),
				post("api_key", "citizen-key", "service_code", "NOISE", "address_string", "友谊路", "attribute[when]", "night",
					"attribute[sources][]", "construction", "attribute[sources][]", "shop", "attribute[started]", "2026-11-27T22:00:00+08:00"),
			} {
				if r := e.do("POST", "requests."+f, form); r.status != 200 {
					t.Fatalf("POST %v: %d %s", form, r.status, r.body)
				}
			}
		})
	}
}

func TestPostErrors(t *testing.T) {
	e := newEnv(t)
	base := func(extra ...string) url.Values {
		v := post("api_key", "citizen-key", "service_code", "DRAINAGE", "lat", "39.1", "long", "117.2", "description", "积水")
		for i := 0; i+1 < len(extra); i += 2 {
			if extra[i+1] == "" {
				v.Del(extra[i])
			} else {
				v.Set(extra[i], extra[i+1])
			}
		}
		return v
	}
	tests := []struct {
		name   string
		form   url.Values
		status int
	}{
		{"no api_key", base("api_key", ""), 403},
		{"wrong api_key", base("api_key", "nope"), 403},
		{"auditor may not report", base("api_key", "auditor-key"), 403},
		{"no service_code", base("service_code", ""), 400},
		{"unknown service_code", base("service_code", "NOPE"), 400},
		{"no location", base("lat", "", "long", ""), 400},
		{"lat without long", base("long", ""), 400},
		{"lat out of range", base("lat", "91"), 400},
		{"description too long", base("description", strings.Repeat("水", 4001)), 400},
		{"bad media_url", base("media_url", "javascript:alert(1)"), 400},
		{"required attribute missing", post("api_key", "citizen-key", "service_code", "NOISE", "address_string", "x"), 400},
		{"value not in list", base("attribute[sewage]", "maybe"), 400},
		{"not a number", base("attribute[water_depth_cm]", "deep"), 400},
		{"unknown attribute", base("attribute[colour]", "red"), 400},
		{"two values for single", post("api_key", "citizen-key", "service_code", "NOISE", "address_string", "x", "attribute[when][]", "day", "attribute[when][]", "night"), 400},
		{"bad datetime attribute", post("api_key", "citizen-key", "service_code", "NOISE", "address_string", "x", "attribute[when]", "day", "attribute[started]", "yesterday"), 400},
		{"malformed attribute", base("attribute[x", "1"), 400},
		{"other jurisdiction", base("jurisdiction_id", "elsewhere"), 404},
	}
	for _, f := range formats {
		for _, tc := range tests {
			t.Run(f+"/"+tc.name, func(t *testing.T) {
				expectError(t, f, e.do("POST", "requests."+f, tc.form), tc.status)
			})
		}
	}
}

func TestTokens(t *testing.T) {
	e := newEnv(t)
	res, err := e.svc.Create(context.Background(), workorder.NewReport{Category: "ROAD", Description: "井盖缺失", Address: "友谊路"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range formats {
		t.Run(f, func(t *testing.T) {
			got := e.requests(f, e.do("GET", "tokens/"+res.Token+"."+f, nil))
			if len(got) != 1 || got[0].ServiceRequestID != res.Order.TrackingNo || got[0].Token != res.Token {
				t.Fatalf("token lookup %+v", got)
			}
			expectError(t, f, e.do("GET", "tokens/unknown."+f, nil), 404)
		})
	}
}

func TestGetRequestsFilters(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mk := func(cat string, age time.Duration) *workorder.Order {
		e.clock.T = time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC).Add(-age)
		res, err := e.svc.Create(ctx, workorder.NewReport{Category: cat, Description: cat, Address: "友谊路"})
		if err != nil {
			t.Fatal(err)
		}
		return res.Order
	}
	old := mk("ROAD", 100*24*time.Hour) // outside the default 90 days
	road := mk("ROAD", 10*24*time.Hour)
	noise := mk("NOISE", 5*24*time.Hour)
	drain := mk("DRAINAGE", 24*time.Hour)
	e.clock.T = time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)
	op := citybrain.WithActor(ctx, &citybrain.Actor{UserID: 1, Role: citybrain.RoleOperator})
	if _, err := e.svc.Act(op, noise.ID, workorder.ActionRequest{Action: workorder.ActCancel, Reason: "属于物业"}); err != nil {
		t.Fatal(err)
	}
	idsOf := func(rs []reqDoc) string {
		var s []string
		for _, r := range rs {
			s = append(s, r.ServiceRequestID)
		}
		return strings.Join(s, ",")
	}
	tests := []struct {
		query string
		want  []*workorder.Order
	}{
		{"", []*workorder.Order{drain, noise, road}},
		{"service_request_id=" + old.TrackingNo + "," + road.TrackingNo + "&service_code=NOISE&status=closed", []*workorder.Order{road, old}},
		{"service_code=ROAD,NOISE", []*workorder.Order{noise, road}},
		{"status=open", []*workorder.Order{drain, road}},
		{"status=closed", []*workorder.Order{noise}},
		{"status=open,closed", []*workorder.Order{drain, noise, road}},
		{"start_date=2026-08-01T00:00:00Z&end_date=2026-08-30T00:00:00%2B08:00", []*workorder.Order{old}},
		{"start_date=2026-11-20T00:00:00%2B08:00", []*workorder.Order{drain, noise}},
		{"end_date=2026-11-20T00:00:00Z", []*workorder.Order{road}},
		{"page_size=2", []*workorder.Order{drain, noise}},
		{"page_size=2&page=2", []*workorder.Order{road}},
		{"page_size=2&page=3", nil},
		{"agency_responsible=WATER", []*workorder.Order{drain}},
	}
	for _, f := range formats {
		for _, tc := range tests {
			t.Run(f+"/"+tc.query, func(t *testing.T) {
				got := e.requests(f, e.do("GET", "requests."+f+"?"+tc.query, nil))
				var want []reqDoc
				for _, o := range tc.want {
					want = append(want, reqDoc{ServiceRequestID: o.TrackingNo})
				}
				if idsOf(got) != idsOf(want) {
					t.Fatalf("got %s, want %s", idsOf(got), idsOf(want))
				}
			})
		}
		t.Run(f+"/closed fields", func(t *testing.T) {
			got := e.requests(f, e.do("GET", "requests/"+noise.TrackingNo+"."+f, nil))
			if got[0].Status != "closed" || got[0].ExpectedDatetime != "" || got[0].StatusNotes != "属于物业" || got[0].Lat != nil {
				t.Fatalf("closed request %+v", got[0])
			}
		})
	}
	bad := []string{
		"start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", // over 90 days
		"start_date=2026-11-20",                                         // no time and timezone
		"start_date=2026-11-20T00:00:00",                                // no timezone
		"start_date=2026-11-20T00:00:00Z&end_date=2026-11-10T00:00:00Z", // reversed
		"status=pending",
		"service_code=NOPE",
		"page_size=0", "page_size=1001", "page=0", "page=x",
		"agency_responsible=NOPE",
	}
	for _, f := range formats {
		for _, q := range bad {
			t.Run(f+"/bad/"+q, func(t *testing.T) {
				expectError(t, f, e.do("GET", "requests."+f+"?"+q, nil), 400)
			})
		}
		t.Run(f+"/unknown id", func(t *testing.T) {
			expectError(t, f, e.do("GET", "requests/2099010100001."+f, nil), 404)
			expectError(t, f, e.do("GET", "requests/abc."+f, nil), 404)
		})
		// service_request_id lists the requests found: ids that are unknown or not even
		// tracking numbers match nothing rather than failing the whole query.
		for _, q := range []string{"service_request_id=abc", "service_request_id=99999", "service_request_id=2099010100001"} {
			t.Run(f+"/list/"+q, func(t *testing.T) {
				r := e.do("GET", "requests."+f+"?"+q, nil)
				if r.status != 200 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				if got := e.requests(f, r); len(got) != 0 {
					t.Fatalf("got %d requests, want none", len(got))
				}
			})
		}
		t.Run(f+"/list/known and unknown", func(t *testing.T) {
			got := e.requests(f, e.do("GET", "requests."+f+"?service_request_id=abc,"+road.TrackingNo, nil))
			if len(got) != 1 || got[0].ServiceRequestID != road.TrackingNo {
				t.Fatalf("got %s, want only %s", idsOf(got), road.TrackingNo)
			}
		})
	}
}

func TestDefaultLimit1000(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 1005; i++ {
		if _, err := e.svc.Create(context.Background(), workorder.NewReport{Category: "OTHER", Description: "事项", Address: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.requests("json", e.do("GET", "requests.json", nil)); len(got) != 1000 {
		t.Fatalf("default result count %d, want 1000", len(got))
	}
	if got := e.requests("xml", e.do("GET", "requests.xml?page=2", nil)); len(got) != 5 {
		t.Fatalf("page 2: %d, want 5", len(got))
	}
}

func TestRoutingErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		method, path string
		format       string
		status       int
	}{
		{"GET", "services.html", "xml", 404},
		{"GET", "services", "xml", 404},
		{"GET", "nothing.json", "json", 404},
		{"GET", "requests/1/2.json", "json", 404},
		{"DELETE", "requests.json", "json", 405},
		{"POST", "services.xml", "xml", 405},
		{"PUT", "discovery.json", "json", 405},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := e.do(tc.method, tc.path, nil)
			expectError(t, tc.format, r, tc.status)
			if tc.status == 405 && r.allow == "" {
				t.Error("no Allow header on a wrong method")
			}
		})
	}
}

// A POSTed request moves through the lifecycle and Open311 shows open until 办结, then
// closed; the deadline is carried in expected_datetime.
func TestLifecycleProjection(t *testing.T) {
	e := newEnv(t)
	r := e.requests("json", e.do("POST", "requests.json", post("api_key", "citizen-key", "service_code", "STREETLIGHT",
		"lat", "39.1", "long", "117.2", "attribute[fault]", "off")))
	id := r[0].ServiceRequestID
	o, err := e.svc.PublicGetByTrackingNo(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	dept := citybrain.WithActor(context.Background(), &citybrain.Actor{UserID: 5, Role: citybrain.RoleDept, Department: "URBAN_MGMT"})
	op := citybrain.WithActor(context.Background(), &citybrain.Actor{UserID: 1, Role: citybrain.RoleOperator})
	steps := []struct {
		ctx    context.Context
		req    workorder.ActionRequest
		status string
	}{
		{dept, workorder.ActionRequest{Action: workorder.ActAcknowledge}, "open"},
		{dept, workorder.ActionRequest{Action: workorder.ActFeedback, Reason: "已更换灯泡"}, "open"},
		{op, workorder.ActionRequest{Action: workorder.ActVerify}, "open"},
		{op, workorder.ActionRequest{Action: workorder.ActClose, Reason: "已修复"}, "closed"},
	}
	for _, s := range steps {
		if _, err := e.svc.Act(s.ctx, o.ID, s.req); err != nil {
			t.Fatal(err)
		}
		got := e.requests("xml", e.do("GET", "requests/"+id+".xml", nil))[0]
		if got.Status != s.status {
			t.Fatalf("after %s: status %s", s.req.Action, got.Status)
		}
	}
}

func FuzzParsePost(f *testing.F) {
	f.Add("service_code=NOISE&address_string=x&attribute[when]=day&attribute[sources][]=shop")
	f.Add("service_code=DRAINAGE&lat=39.1&long=117.2&description=%E7%A7%AF%E6%B0%B4")
	f.Add("service_code=ROAD&address_id=1&attribute[hazard]=pothole&attribute[size_m]=1e3")
	f.Add("attribute[=1&attribute[x]]=2")
	dict, err := workorder.DefaultDictionary()
	if err != nil {
		f.Fatal(err)
	}
	attrs, err := open311.DefaultAttributes()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		in, err := open311.ParsePost(form, dict, attrs)
		if err != nil {
			if citybrain.ErrorCode(err) != citybrain.EINVALID {
				t.Fatalf("non-client error %v", err)
			}
			return
		}
		if _, ok := dict.Category(in.Category); !ok {
			t.Fatalf("accepted unknown code %q", in.Category)
		}
		if !in.HasLocation && in.Address == "" && in.AddressID == "" {
			t.Fatal("accepted a request without location")
		}
	})
}

func FuzzParseRequestsQuery(f *testing.F) {
	f.Add("service_code=ROAD,NOISE&status=open&start_date=2026-11-01T00:00:00Z")
	f.Add("page=2&page_size=10&end_date=2026-11-20T00:00:00%2B08:00")
	f.Add("service_request_id=2026112800001,2026112800002")
	dict, _ := workorder.DefaultDictionary()
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		rq, err := open311.ParseRequestsQuery(v, now, dict)
		if err != nil {
			if citybrain.ErrorCode(err) != citybrain.EINVALID {
				t.Fatalf("non-client error %v", err)
			}
			return
		}
		if rq.Filter.Limit < 1 || rq.Filter.Limit > 1000 {
			t.Fatalf("limit %d", rq.Filter.Limit)
		}
		if len(rq.Filter.TrackingNos) == 0 && rq.Filter.To.Sub(rq.Filter.From) > 90*24*time.Hour+time.Millisecond {
			t.Fatalf("range %s–%s", rq.Filter.From, rq.Filter.To)
		}
	})
}

// FixMyStreet's servicerequestupdates extension: the public moves of requests in a window.
func TestServiceRequestUpdates(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res, err := e.svc.Create(ctx, workorder.NewReport{Category: "STREETLIGHT", Description: "路灯不亮", Address: "友谊路"})
	if err != nil {
		t.Fatal(err)
	}
	dept := citybrain.WithActor(ctx, &citybrain.Actor{UserID: 5, Username: "王科长", Role: citybrain.RoleDept, Department: "URBAN_MGMT"})
	op := citybrain.WithActor(ctx, &citybrain.Actor{UserID: 1, Role: citybrain.RoleOperator})
	e.clock.T = e.clock.T.Add(time.Hour)
	for _, s := range []struct {
		ctx context.Context
		req workorder.ActionRequest
	}{
		{dept, workorder.ActionRequest{Action: workorder.ActAcknowledge}},
		{dept, workorder.ActionRequest{Action: workorder.ActFeedback, Reason: "已更换灯泡", Attachments: []string{"https://img.example.cn/fixed.jpg"}}},
		{op, workorder.ActionRequest{Action: workorder.ActNote, Reason: "内部备注"}}, // not public
		{op, workorder.ActionRequest{Action: workorder.ActVerify}},
		{op, workorder.ActionRequest{Action: workorder.ActClose, Reason: "已修复"}},
	} {
		if _, err := e.svc.Act(s.ctx, res.Order.ID, s.req); err != nil {
			t.Fatal(err)
		}
	}
	type upd struct {
		UpdateID           string `json:"update_id" xml:"update_id"`
		ServiceRequestID   string `json:"service_request_id" xml:"service_request_id"`
		Status             string `json:"status" xml:"status"`
		UpdatedDatetime    string `json:"updated_datetime" xml:"updated_datetime"`
		Description        string `json:"description" xml:"description"`
		MediaURL           string `json:"media_url" xml:"media_url"`
		ExternalStatusCode string `json:"external_status_code" xml:"external_status_code"`
	}
	for _, f := range formats {
		t.Run(f, func(t *testing.T) {
			q := "?start_date=" + url.QueryEscape(e.clock.T.Add(-30*time.Minute).Format(time.RFC3339)) + "&end_date=" + url.QueryEscape(e.clock.T.Format(time.RFC3339)) + "&api_key=citizen-key"
			r := e.do("GET", "servicerequestupdates."+f+q, nil)
			var list []upd
			var x struct {
				XMLName xml.Name `xml:"service_requests_updates"`
				Updates []upd    `xml:"request_update"`
			}
			decode(t, f, r, &list, &x)
			if f == "xml" {
				list = x.Updates
			}
			var got []string
			for _, u := range list {
				if u.ServiceRequestID != res.Order.TrackingNo || u.UpdateID == "" || u.UpdatedDatetime == "" {
					t.Fatalf("update %+v", u)
				}
				got = append(got, u.Status+"/"+u.ExternalStatusCode)
			}
			if strings.Join(got, ",") != "open/INVESTIGATING,open/IN_PROGRESS,open/IN_PROGRESS,closed/FIXED" {
				t.Fatalf("updates %v", got)
			}
			if list[1].Description != "已更换灯泡" || list[1].MediaURL != "https://img.example.cn/fixed.jpg" {
				t.Fatalf("feedback update %+v", list[1])
			}
			expectError(t, f, e.do("GET", "servicerequestupdates."+f+"?api_key=nope", nil), 403)
			expectError(t, f, e.do("GET", "servicerequestupdates."+f+"?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", nil), 400)
			expectError(t, f, e.do("GET", "servicerequestupdates."+f+"?start_date=yesterday", nil), 400)
		})
	}
}

// curl 'requests.json?start_date=2026-11-28T00:00:00+08:00' sends the '+' unencoded, and a
// query string decodes it as a space: the date must still be read with its +08:00 offset.
func TestUnencodedPlusInDates(t *testing.T) {
	e := newEnv(t)
	if _, err := e.svc.Create(context.Background(), workorder.NewReport{Category: "OTHER", Description: "事项", Address: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range formats {
		// 2026-11-28T02:00Z (the order) is 10:00 at +08:00: inside the first range, outside the second.
		for q, want := range map[string]int{
			"start_date=2026-11-28T09:00:00+08:00&end_date=2026-11-28T11:00:00+08:00": 1,
			"start_date=2026-11-28T11:00:00+08:00&end_date=2026-11-28T12:00:00+08:00": 0,
		} {
			r := e.do("GET", "requests."+f+"?"+q, nil)
			if r.status != 200 {
				t.Fatalf("%s: %d %s", q, r.status, r.body)
			}
			if got := e.requests(f, r); len(got) != want {
				t.Fatalf("%s: %d requests, want %d", q, len(got), want)
			}
		}
	}
}
