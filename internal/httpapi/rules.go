package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/alert"
	"github.com/citybrain/citybrain/internal/rule"
)

// RuleServices are what the rule, alert and webhook routes act on.
type RuleServices struct {
	Rules     *rule.Service
	Alerts    *alert.Manager
	AlertRepo alert.Repository
	Subs      alert.SubscriptionRepository
	// Counts returns open alerts per status and severity (for KPI tiles); nil disables
	// GET /api/v1/alerts/summary.
	Counts func(ctx context.Context) (map[string]map[string]int, error)
	// Now is the clock for new subscriptions (default time.Now).
	Now func() time.Time
}

// RuleView is a rule with its evaluation health.
type RuleView struct {
	rule.Rule
	Health *rule.RuleHealth `json:"health,omitempty"`
}

// DryRunRequest asks for a dry run over [from, to) (default the last 24 hours); Rule is
// given only for the unsaved-rule dry run.
type DryRunRequest struct {
	Rule *rule.Rule `json:"rule,omitempty"`
	From string     `json:"from,omitempty"` // RFC 3339 or epoch ms
	To   string     `json:"to,omitempty"`
}

// NoteRequest carries an operator's note for acknowledging or resolving an alert.
type NoteRequest struct {
	Note string `json:"note"`
}

// ValidationResult answers POST /api/v1/rules/validate for a valid rule.
type ValidationResult struct {
	Valid bool `json:"valid"`
}

// ConditionErrorBody is the 400 answer for a condition with a mistake: the usual error
// shape plus where the mistake is.
type ConditionErrorBody struct {
	Error ConditionErrorDetail `json:"error"`
}

// ConditionErrorDetail is the inside of ConditionErrorBody.
type ConditionErrorDetail struct {
	ErrorDetail
	Line      int    `json:"line"`
	Column    int    `json:"column"`
	Snippet   string `json:"snippet"`
	MessageZh string `json:"message_zh"`
	MessageEn string `json:"message_en"`
}

// SubscriptionView is a webhook subscription with its secret shown only at creation.
type SubscriptionView struct {
	alert.Subscription
	SecretHint string `json:"secret_hint,omitempty"`
}

// AlertSummary counts open alerts: ByStatus[status][severity], and the firing and
// acknowledged ones by severity.
type AlertSummary struct {
	ByStatus map[string]map[string]int `json:"by_status"`
	Firing   map[string]int            `json:"firing"`
	Open     int                       `json:"open"`
}

type ruleHandlers struct {
	s   *Server
	svc RuleServices
}

// RuleRoutes serves rules (CRUD, validation, dry runs), alerts (list, detail with history
// and triggering readings, acknowledge, resolve) and webhook subscriptions with their
// delivery log.
func RuleRoutes(s *Server, svc RuleServices) []Route {
	if svc.Now == nil {
		svc.Now = time.Now
	}
	h := &ruleHandlers{s: s, svc: svc}
	editors := []string{citybrain.RoleAdmin, citybrain.RoleOperator}
	readers := []string{citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleDept, citybrain.RoleWorker, citybrain.RoleAuditor}
	admin := []string{citybrain.RoleAdmin}
	alertQuery := map[string]string{
		"status": "pending, firing, acknowledged, resolved (comma separated; default all)",
		"area":   "area code prefix", "severity": "info, warning or critical", "rule": "rule id", "device": "device id", "entity": "device id or household:<id>",
		"from": "started at or after (RFC 3339 or epoch ms)", "to": "started at or before",
		"limit": "1–500, default 50", "cursor": "next_cursor of the previous page",
	}
	return []Route{
		{Method: "GET", Path: "/api/v1/rules", Tag: "rules", Roles: readers, Summary: "List rules",
			Query:    map[string]string{"profile": "device profile", "severity": "info, warning, critical", "enabled": "true or false", "q": "part of the name or id"},
			Response: Page[RuleView]{}, Handle: h.listRules},
		{Method: "POST", Path: "/api/v1/rules", Tag: "rules", Roles: editors, MaxBody: 64 << 10,
			Summary: "Create a rule (400 with line, column and a caret snippet when the condition is wrong)",
			Request: rule.Rule{}, Response: rule.Rule{}, Handle: h.createRule},
		{Method: "POST", Path: "/api/v1/rules/validate", Tag: "rules", Roles: editors, MaxBody: 64 << 10,
			Summary: "Check a rule without saving it", Request: rule.Rule{}, Response: ValidationResult{}, Handle: h.validateRule},
		{Method: "POST", Path: "/api/v1/rules/dry-run", Tag: "rules", Roles: editors, MaxBody: 64 << 10,
			Summary: "Dry-run an unsaved rule against recent history", Request: DryRunRequest{}, Response: rule.DryRunResult{}, Handle: h.dryRunNew},
		{Method: "GET", Path: "/api/v1/rules/{id}", Tag: "rules", Roles: readers, Summary: "Get a rule with its evaluation health",
			Response: RuleView{}, Handle: h.getRule},
		{Method: "PUT", Path: "/api/v1/rules/{id}", Tag: "rules", Roles: editors, MaxBody: 64 << 10, Summary: "Replace a rule",
			Request: rule.Rule{}, Response: rule.Rule{}, Handle: h.putRule},
		{Method: "PATCH", Path: "/api/v1/rules/{id}", Tag: "rules", Roles: editors, MaxBody: 64 << 10, Summary: "Change some fields of a rule",
			Request: rule.Patch{}, Response: rule.Rule{}, Handle: h.patchRule},
		{Method: "POST", Path: "/api/v1/rules/{id}/disable", Tag: "rules", Roles: editors, Summary: "Disable a rule (its open alerts resolve)",
			Response: rule.Rule{}, Handle: h.enable(false)},
		{Method: "POST", Path: "/api/v1/rules/{id}/enable", Tag: "rules", Roles: editors, Summary: "Enable a rule",
			Response: rule.Rule{}, Handle: h.enable(true)},
		{Method: "DELETE", Path: "/api/v1/rules/{id}", Tag: "rules", Roles: editors, Summary: "Delete a rule (its open alerts resolve)",
			Handle: h.deleteRule},
		{Method: "POST", Path: "/api/v1/rules/{id}/dry-run", Tag: "rules", Roles: editors, MaxBody: 16 << 10,
			Summary: "How often and when the rule would have fired over recent history (default the last 24 hours)",
			Request: DryRunRequest{}, Response: rule.DryRunResult{}, Handle: h.dryRun},

		{Method: "GET", Path: "/api/v1/alerts", Tag: "alerts", Roles: readers, Dataset: "alerts", Summary: "List alerts, newest first",
			Query: alertQuery, Response: Page[*alert.Alert]{}, Handle: h.listAlerts},
		{Method: "GET", Path: "/api/v1/alerts/summary", Tag: "alerts", Roles: readers,
			Summary: "Open alerts counted by status and severity (for KPI tiles)", Response: AlertSummary{}, Handle: h.summary},
		{Method: "GET", Path: "/api/v1/alerts/{id}", Tag: "alerts", Roles: readers, Dataset: "alerts",
			Summary: "Get an alert with its full history and the readings that triggered it", Response: alert.Alert{}, Handle: h.getAlert},
		{Method: "POST", Path: "/api/v1/alerts/{id}/ack", Tag: "alerts", Roles: editors, Dataset: "alerts", MaxBody: 16 << 10,
			Summary: "Acknowledge an alert (确认)", Request: NoteRequest{}, Response: alert.Alert{}, Handle: h.ack},
		{Method: "POST", Path: "/api/v1/alerts/{id}/resolve", Tag: "alerts", Roles: editors, Dataset: "alerts", MaxBody: 16 << 10,
			Summary: "Resolve an alert with a note (解除)", Request: NoteRequest{}, Response: alert.Alert{}, Handle: h.resolve},

		{Method: "GET", Path: "/api/v1/webhooks", Tag: "alerts", Roles: admin, Summary: "List webhook subscriptions",
			Response: Page[SubscriptionView]{}, Handle: h.listSubs},
		{Method: "POST", Path: "/api/v1/webhooks", Tag: "alerts", Roles: admin, MaxBody: 16 << 10,
			Summary: "Subscribe a URL to alert notifications (the signing secret is shown once)", Request: alert.Subscription{}, Response: SubscriptionView{}, Handle: h.createSub},
		{Method: "GET", Path: "/api/v1/webhooks/{id}", Tag: "alerts", Roles: admin, Summary: "Get a webhook subscription",
			Response: SubscriptionView{}, Handle: h.getSub},
		{Method: "PUT", Path: "/api/v1/webhooks/{id}", Tag: "alerts", Roles: admin, MaxBody: 16 << 10,
			Summary: "Change a webhook subscription (an empty secret keeps the old one)", Request: alert.Subscription{}, Response: SubscriptionView{}, Handle: h.putSub},
		{Method: "DELETE", Path: "/api/v1/webhooks/{id}", Tag: "alerts", Roles: admin, Summary: "Delete a webhook subscription", Handle: h.deleteSub},
		{Method: "GET", Path: "/api/v1/webhooks/{id}/deliveries", Tag: "alerts", Roles: admin,
			Summary: "The delivery log of a subscription, newest first (failures included)", Query: map[string]string{"limit": "1–1000, default 100"},
			Response: Page[alert.Delivery]{}, Handle: h.deliveries},
	}
}

// fail answers a condition mistake with its position; other errors go the usual way.
func (h *ruleHandlers) fail(w http.ResponseWriter, r *http.Request, err error) error {
	var ce *rule.ConditionError
	if !errors.As(err, &ce) {
		return err
	}
	writeJSON(w, http.StatusBadRequest, ConditionErrorBody{Error: ConditionErrorDetail{
		ErrorDetail: ErrorDetail{Code: citybrain.EINVALID, Message: ce.Error(), Field: "condition", RequestID: RequestID(r.Context())},
		Line:        ce.Line, Column: ce.Column, Snippet: ce.Snippet, MessageZh: ce.MessageZH, MessageEn: ce.Message,
	}})
	return nil
}

func (h *ruleHandlers) view(r rule.Rule) RuleView {
	v := RuleView{Rule: r}
	for _, x := range h.svc.Rules.Engine().Health() {
		if x.RuleID == r.ID {
			x := x
			v.Health = &x
		}
	}
	return v
}

func (h *ruleHandlers) listRules(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := rule.ListFilter{Profile: q.Get("profile"), Severity: rule.Severity(q.Get("severity")), Query: q.Get("q")}
	if s := q.Get("enabled"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return citybrain.FieldError("enabled", "enabled must be true or false")
		}
		f.Enabled = &b
	}
	rules, err := h.svc.Rules.List(r.Context(), f)
	if err != nil {
		return err
	}
	health := map[string]rule.RuleHealth{}
	for _, x := range h.svc.Rules.Engine().Health() {
		health[x.RuleID] = x
	}
	page := Page[RuleView]{Items: make([]RuleView, 0, len(rules))}
	for _, x := range rules {
		v := RuleView{Rule: x}
		if hh, ok := health[x.ID]; ok {
			v.Health = &hh
		}
		page.Items = append(page.Items, v)
	}
	return h.s.Reply(w, r, http.StatusOK, page)
}

func (h *ruleHandlers) createRule(w http.ResponseWriter, r *http.Request) error {
	var in rule.Rule
	in.Enabled = true // a new rule is on unless the body says "enabled": false
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	out, err := h.svc.Rules.Create(r.Context(), in)
	if err != nil {
		return h.fail(w, r, err)
	}
	return h.s.Reply(w, r, http.StatusCreated, out)
}

func (h *ruleHandlers) validateRule(w http.ResponseWriter, r *http.Request) error {
	var in rule.Rule
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	in.Normalize()
	if err := rule.Validate(in, h.svc.Rules.Catalog()); err != nil {
		return h.fail(w, r, err)
	}
	return JSON(w, http.StatusOK, ValidationResult{Valid: true})
}

func (h *ruleHandlers) getRule(w http.ResponseWriter, r *http.Request) error {
	x, err := h.svc.Rules.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return h.s.Reply(w, r, http.StatusOK, h.view(x))
}

func (h *ruleHandlers) putRule(w http.ResponseWriter, r *http.Request) error {
	var in rule.Rule
	in.Enabled = true // as on create: only an explicit "enabled": false disables
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	out, err := h.svc.Rules.Update(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return h.fail(w, r, err)
	}
	return h.s.Reply(w, r, http.StatusOK, out)
}

func (h *ruleHandlers) patchRule(w http.ResponseWriter, r *http.Request) error {
	var p rule.Patch
	if err := DecodeJSON(r, &p); err != nil {
		return err
	}
	out, err := h.svc.Rules.PatchRule(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return h.fail(w, r, err)
	}
	return h.s.Reply(w, r, http.StatusOK, out)
}

func (h *ruleHandlers) enable(on bool) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		out, err := h.svc.Rules.SetEnabled(r.Context(), r.PathValue("id"), on)
		if err != nil {
			return h.fail(w, r, err)
		}
		return h.s.Reply(w, r, http.StatusOK, out)
	}
}

func (h *ruleHandlers) deleteRule(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.Rules.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func readDryRun(r *http.Request) (DryRunRequest, time.Time, time.Time, error) {
	var in DryRunRequest
	if r.ContentLength != 0 {
		if err := DecodeJSON(r, &in); err != nil {
			return in, time.Time{}, time.Time{}, err
		}
	}
	q := r.URL.Query()
	if in.From == "" {
		in.From = q.Get("from")
	}
	if in.To == "" {
		in.To = q.Get("to")
	}
	from, err := ParseTime("from", in.From)
	if err != nil {
		return in, time.Time{}, time.Time{}, err
	}
	to, err := ParseTime("to", in.To)
	return in, from, to, err
}

func (h *ruleHandlers) dryRun(w http.ResponseWriter, r *http.Request) error {
	_, from, to, err := readDryRun(r)
	if err != nil {
		return err
	}
	x, err := h.svc.Rules.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	res, err := h.svc.Rules.DryRunHistory(r.Context(), x, from, to)
	if err != nil {
		return h.fail(w, r, err)
	}
	return JSON(w, http.StatusOK, res)
}

func (h *ruleHandlers) dryRunNew(w http.ResponseWriter, r *http.Request) error {
	in, from, to, err := readDryRun(r)
	if err != nil {
		return err
	}
	if in.Rule == nil {
		return citybrain.FieldError("rule", "请提供要试运行的规则 / the rule to dry-run is required")
	}
	res, err := h.svc.Rules.DryRunHistory(r.Context(), *in.Rule, from, to)
	if err != nil {
		return h.fail(w, r, err)
	}
	return JSON(w, http.StatusOK, res)
}

func (h *ruleHandlers) listAlerts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := alert.Filter{Area: q.Get("area"), Severity: rule.Severity(q.Get("severity")), RuleID: q.Get("rule"), DeviceID: q.Get("device"), Entity: q.Get("entity")}
	if f.Severity != "" && f.Severity.Rank() == 0 {
		return citybrain.FieldError("severity", "severity must be info, warning or critical")
	}
	if s := q.Get("status"); s != "" {
		for _, p := range strings.Split(s, ",") {
			st := alert.Status(strings.TrimSpace(p))
			if !st.Valid() {
				return citybrain.FieldError("status", "status must be pending, firing, acknowledged or resolved, got %q", p)
			}
			f.Status = append(f.Status, st)
		}
	}
	var err error
	if f.From, err = ParseTime("from", q.Get("from")); err != nil {
		return err
	}
	if f.To, err = ParseTime("to", q.Get("to")); err != nil {
		return err
	}
	f.Limit = 50
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return citybrain.FieldError("limit", "limit must be a whole number from 1 to 500")
		}
		f.Limit = n
	}
	_, cursor, err := PageParams(r)
	if err != nil {
		return err
	}
	if f.Cursor, err = CursorInt64(cursor); err != nil {
		return err
	}
	list, err := h.svc.AlertRepo.ListAlerts(r.Context(), f)
	if err != nil {
		return err
	}
	page := Page[*alert.Alert]{Items: list}
	if page.Items == nil {
		page.Items = []*alert.Alert{}
	}
	if len(list) == f.PageSize() {
		page.NextCursor = EncodeCursor(strconv.FormatInt(list[len(list)-1].ID, 10))
	}
	return h.s.Reply(w, r, http.StatusOK, page)
}

func (h *ruleHandlers) getAlert(w http.ResponseWriter, r *http.Request) error {
	id, err := PathInt64(r, "id")
	if err != nil {
		return err
	}
	a, err := h.svc.AlertRepo.GetAlert(r.Context(), id)
	if err != nil {
		return err
	}
	return h.s.Reply(w, r, http.StatusOK, a)
}

func (h *ruleHandlers) note(r *http.Request) (int64, string, error) {
	id, err := PathInt64(r, "id")
	if err != nil {
		return 0, "", err
	}
	var in NoteRequest
	if r.ContentLength != 0 {
		if err := DecodeJSON(r, &in); err != nil {
			return 0, "", err
		}
	}
	return id, in.Note, nil
}

func (h *ruleHandlers) ack(w http.ResponseWriter, r *http.Request) error {
	id, note, err := h.note(r)
	if err != nil {
		return err
	}
	a, err := h.svc.Alerts.Ack(r.Context(), id, note)
	if err != nil {
		return err
	}
	return h.s.Reply(w, r, http.StatusOK, a)
}

func (h *ruleHandlers) resolve(w http.ResponseWriter, r *http.Request) error {
	id, note, err := h.note(r)
	if err != nil {
		return err
	}
	a, err := h.svc.Alerts.Resolve(r.Context(), id, note)
	if err != nil {
		return err
	}
	return h.s.Reply(w, r, http.StatusOK, a)
}

func hideSecret(s alert.Subscription) SubscriptionView {
	v := SubscriptionView{Subscription: s}
	if len(s.Secret) > 4 {
		v.SecretHint = "…" + s.Secret[len(s.Secret)-4:]
	}
	v.Secret = ""
	return v
}

func (h *ruleHandlers) listSubs(w http.ResponseWriter, r *http.Request) error {
	subs, err := h.svc.Subs.ListSubscriptions(r.Context())
	if err != nil {
		return err
	}
	page := Page[SubscriptionView]{Items: make([]SubscriptionView, 0, len(subs))}
	for _, s := range subs {
		page.Items = append(page.Items, hideSecret(s))
	}
	return JSON(w, http.StatusOK, page)
}

func (h *ruleHandlers) createSub(w http.ResponseWriter, r *http.Request) error {
	var in alert.Subscription
	in.Enabled = true
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.Secret == "" {
		in.Secret = alert.NewSecret()
	}
	if err := alert.ValidateSubscription(&in); err != nil {
		return err
	}
	in.ID, in.CreatedAt = 0, h.svc.Now().UTC().Truncate(time.Millisecond)
	if err := h.svc.Subs.CreateSubscription(r.Context(), &in); err != nil {
		return err
	}
	v := hideSecret(in)
	v.Secret = in.Secret // shown once
	return JSON(w, http.StatusCreated, v)
}

func (h *ruleHandlers) sub(ctx context.Context, r *http.Request) (*alert.Subscription, error) {
	id, err := PathInt64(r, "id")
	if err != nil {
		return nil, err
	}
	return h.svc.Subs.GetSubscription(ctx, id)
}

func (h *ruleHandlers) getSub(w http.ResponseWriter, r *http.Request) error {
	s, err := h.sub(r.Context(), r)
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, hideSecret(*s))
}

func (h *ruleHandlers) putSub(w http.ResponseWriter, r *http.Request) error {
	old, err := h.sub(r.Context(), r)
	if err != nil {
		return err
	}
	var in alert.Subscription
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.Secret == "" {
		in.Secret = old.Secret
	}
	in.ID, in.CreatedAt = old.ID, old.CreatedAt
	if err := alert.ValidateSubscription(&in); err != nil {
		return err
	}
	if err := h.svc.Subs.UpdateSubscription(r.Context(), &in); err != nil {
		return err
	}
	return JSON(w, http.StatusOK, hideSecret(in))
}

func (h *ruleHandlers) deleteSub(w http.ResponseWriter, r *http.Request) error {
	id, err := PathInt64(r, "id")
	if err != nil {
		return err
	}
	if err := h.svc.Subs.DeleteSubscription(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *ruleHandlers) deliveries(w http.ResponseWriter, r *http.Request) error {
	s, err := h.sub(r.Context(), r)
	if err != nil {
		return err
	}
	limit, _, err := PageParams(r)
	if err != nil {
		return err
	}
	ds, err := h.svc.AlertRepo.ListDeliveries(r.Context(), s.ID, limit)
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []alert.Delivery{}
	}
	return JSON(w, http.StatusOK, Page[alert.Delivery]{Items: ds})
}

func (h *ruleHandlers) summary(w http.ResponseWriter, r *http.Request) error {
	if h.svc.Counts == nil {
		return citybrain.Errorf(citybrain.EUNAVAILABLE, "alert counts are not available")
	}
	by, err := h.svc.Counts(r.Context())
	if err != nil {
		return err
	}
	out := AlertSummary{ByStatus: by, Firing: map[string]int{}}
	for st, sev := range by {
		for s, n := range sev {
			out.Open += n
			if st == string(alert.StatusFiring) {
				out.Firing[s] += n
			}
		}
	}
	return JSON(w, http.StatusOK, out)
}
