package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/alert"
	"github.com/citybrain/citybrain/internal/workorder"
)

// A firing alert whose rule asks for a work order opens one through the same intake path.
func TestAlertOpensWorkOrder(t *testing.T) {
	a := testApp(t)
	ctx := context.Background()
	if err := workOrderOpener(a)(ctx, alert.AlertInfo{AlertID: 7, RuleName: "积水告警 waterlogging", Category: "drainage",
		Severity: "critical", Summary: "友谊路下穿隧道积水 35 cm", Value: 35}); err != nil {
		t.Fatal(err)
	}
	op := citybrain.WithActor(ctx, &citybrain.Actor{UserID: 1, Role: citybrain.RoleOperator})
	list, err := a.workorders.List(op, workorder.Filter{Source: workorder.SourceAlert})
	if err != nil || len(list) != 1 {
		t.Fatalf("alert orders %d %v", len(list), err)
	}
	o := list[0]
	if o.SourceRef != "7" || o.Category != "DRAINAGE" || o.Priority != workorder.PriorityEmergency || o.LeadDept != "WATER" ||
		o.Deadline.Sub(o.DispatchedAt).Hours() != 2 {
		t.Fatalf("order %+v", o)
	}
}

// The wired platform serves Open311 with the bootstrap administrator token as api_key, and
// the order it creates is visible through the work-order API.
func TestOpen311WiredWithBootstrapToken(t *testing.T) {
	a := testApp(t)
	h := a.api.Handler()
	form := url.Values{"api_key": {"bootstrap-token-for-tests"}, "service_code": {"DRAINAGE"}, "address_string": {"友谊路100号"},
		"description": {"雨后路面积水"}}
	req := httptest.NewRequest("POST", "/open311/v2/requests.json", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("POST requests.json: %d %s", rec.Code, rec.Body)
	}
	var posted []struct {
		ID string `json:"service_request_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &posted); err != nil || len(posted) != 1 || posted[0].ID == "" {
		t.Fatalf("response %s", rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/open311/v2/requests/"+posted[0].ID+".xml", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "<agency_responsible>区水务局</agency_responsible>") {
		t.Fatalf("GET requests/%s.xml: %d %s", posted[0].ID, rec.Code, rec.Body)
	}
	form.Set("api_key", "wrong")
	req = httptest.NewRequest("POST", "/open311/v2/requests.xml", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "<errors><error><code>403</code>") {
		t.Fatalf("wrong key: %d %s", rec.Code, rec.Body)
	}
	req = httptest.NewRequest("GET", "/api/v1/workorders?category=DRAINAGE", nil)
	req.Header.Set("Authorization", "Bearer bootstrap-token-for-tests")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), posted[0].ID) {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
}
