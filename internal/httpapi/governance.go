package httpapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/governance"
)

// GovernanceRoutes serves data governance: the catalog with classification and grading,
// CSV imports, classification edits, reading imported datasets through the Guard,
// small-cell-suppressed aggregates, the sharing workflow (requests, inboxes, approval,
// refusal, escalation, grants, revocation, statistics), household consent and PI
// detection.
func GovernanceRoutes(s *Server, svc *governance.Service) []Route {
	h := govHandlers{s: s, svc: svc}
	staff := []string{citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleDept, citybrain.RoleWorker, citybrain.RoleAuditor}
	managers := []string{citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleDept}
	requesters := []string{citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleDept, citybrain.RoleWorker}
	return []Route{
		{Method: "GET", Path: "/api/v1/datasets", Tag: "governance", Roles: staff,
			Summary:  "数据目录 The data catalog: platform tables and imported datasets with class, grade, sharing attribute and the caller's decision per column",
			Response: []governance.CatalogEntry{}, Handle: h.catalog},
		{Method: "POST", Path: "/api/v1/datasets", Tag: "governance", Roles: managers, MaxBody: 64 << 20,
			Summary: "导入数据集 Import a CSV (UTF-8 or GB18030) as a dataset: multipart/form-data with file, name, title, owner, sharing, sharing_reason; or a text/csv body with those as query parameters",
			Query: map[string]string{"name": "dataset name (text/csv bodies)", "title": "title", "owner": "owner department (default: yours)",
				"sharing": "unconditional, conditional (default) or none", "sharing_reason": "reason for conditional or none"},
			Response: governance.ImportResult{}, Handle: h.importCSV},
		{Method: "GET", Path: "/api/v1/datasets/{name}", Tag: "governance", Roles: staff,
			Summary: "One catalog entry with the caller's decision per column", Response: governance.CatalogEntry{}, Handle: h.dataset},
		{Method: "PATCH", Path: "/api/v1/datasets/{name}", Tag: "governance", Roles: managers,
			Summary: "修改分类分级 Change column classes and grades, the sharing attribute, or accept the suggestions (owner department or admin; audited)",
			Request: governance.DatasetPatch{}, Response: governance.Dataset{}, Handle: h.patch},
		{Method: "GET", Path: "/api/v1/datasets/{name}/rows", Tag: "governance", Roles: staff,
			Summary:  "Rows of an imported dataset, filtered by the Guard for the dataset in the path (FULL/MASKED; DENY and AGGREGATE_ONLY columns removed)",
			Query:    map[string]string{"limit": "1–1000, default 100", "cursor": "next_cursor of the previous page", "purpose": "stated purpose of the read (recorded)"},
			Response: Page[map[string]any]{}, Handle: h.rows},
		{Method: "GET", Path: "/api/v1/datasets/{name}/aggregate", Tag: "governance", Roles: staff,
			Summary: "Counts, sums and averages by group and period; cells with fewer than 10 records are suppressed",
			Query: map[string]string{"group_by": "comma-separated columns", "value": "numeric column for sum/avg", "time_column": "time column",
				"period": "hour, day, week, month or year", "k": "suppression threshold (≥10)"},
			Response: []governance.AggCell{}, Handle: h.aggregate},
		{Method: "POST", Path: "/api/v1/sharing/requests", Tag: "governance", Roles: requesters,
			Summary: "共享申请 Request a dataset (or columns) for a stated purpose and period", Request: governance.RequestInput{},
			Response: governance.ShareRequest{}, Handle: h.request},
		{Method: "GET", Path: "/api/v1/sharing/requests", Tag: "governance", Roles: staff,
			Summary:  "Inbox: requests your department received (box=owner) or sent (box=requester)",
			Query:    map[string]string{"box": "owner (default) or requester", "open": "1: only pending and escalated"},
			Response: []governance.ShareRequest{}, Handle: h.inbox},
		{Method: "GET", Path: "/api/v1/sharing/requests/{id}", Tag: "governance", Roles: staff,
			Summary: "One sharing request", Response: governance.ShareRequest{}, Handle: h.getRequest},
		{Method: "POST", Path: "/api/v1/sharing/requests/{id}/approve", Tag: "governance", Roles: managers,
			Summary: "Approve, possibly narrower (lower level, fewer columns, fewer days); creates the grant", Request: governance.ApproveInput{},
			Response: ApproveResult{}, Handle: h.approve},
		{Method: "POST", Path: "/api/v1/sharing/requests/{id}/refuse", Tag: "governance", Roles: managers,
			Summary: "Refuse with a reason", Request: ReasonInput{}, Response: governance.ShareRequest{}, Handle: h.refuse},
		{Method: "POST", Path: "/api/v1/sharing/requests/{id}/escalate", Tag: "governance", Roles: managers,
			Summary: "Escalate to the data administrator", Request: ReasonInput{}, Response: governance.ShareRequest{}, Handle: h.escalate},
		{Method: "POST", Path: "/api/v1/sharing/requests/{id}/withdraw", Tag: "governance", Roles: requesters,
			Summary: "Withdraw your department's open request", Response: governance.ShareRequest{}, Handle: h.withdraw},
		{Method: "GET", Path: "/api/v1/sharing/grants", Tag: "governance", Roles: staff,
			Summary:  "Grants your department holds (box=requester) or gave (box=owner); box=all for admins and auditors",
			Query:    map[string]string{"box": "requester (default), owner or all", "active": "1: only grants in force"},
			Response: []governance.Grant{}, Handle: h.grants},
		{Method: "POST", Path: "/api/v1/sharing/grants/{id}/revoke", Tag: "governance", Roles: managers,
			Summary: "Revoke a grant with a reason", Request: ReasonInput{}, Response: governance.Grant{}, Handle: h.revoke},
		{Method: "GET", Path: "/api/v1/sharing/stats", Tag: "governance", Roles: staff,
			Summary:  "共享统计 Requests received, approved, refused, response time, sharing rate and on-time rate per department",
			Query:    map[string]string{"from": "RFC 3339 or epoch ms", "to": "RFC 3339 or epoch ms"},
			Response: []governance.SharingStats{}, Handle: h.stats},
		{Method: "POST", Path: "/api/v1/consent", Tag: "governance", Roles: requesters,
			Summary: "住户授权 Record a household's consent (granted or withdrawn) for a purpose", Request: governance.ConsentInput{},
			Response: governance.ConsentRecord{}, Handle: h.setConsent},
		{Method: "GET", Path: "/api/v1/consent/{household}", Tag: "governance", Roles: staff,
			Summary: "A household's consent history", Response: []governance.ConsentRecord{}, Handle: h.consentHistory},
		{Method: "GET", Path: "/api/v1/governance/policy", Tag: "governance", Roles: []string{citybrain.RoleAdmin, citybrain.RoleAuditor},
			Summary: "决策策略 The decision policy in force (permits, rules, consent cap) and its version", Response: governance.PolicyVersion{}, Handle: h.policy},
		{Method: "PUT", Path: "/api/v1/governance/policy", Tag: "governance", Roles: []string{citybrain.RoleAdmin}, MaxBody: 256 << 10,
			Summary: "Replace the decision policy (validated, versioned, audited); rules only narrow, permits and grants widen",
			Request: governance.Policy{}, Response: governance.PolicyVersion{}, Handle: h.setPolicy},
		{Method: "POST", Path: "/api/v1/governance/detect", Tag: "governance", Roles: staff,
			Summary: "个人信息识别 Find personal information in a column sample (header + values) or in free text, with suggested class and grade",
			Request: DetectInput{}, Response: DetectResult{}, Handle: h.detect},
	}
}

// ApproveResult is the approved request and the grant it created.
type ApproveResult struct {
	Request *governance.ShareRequest `json:"request"`
	Grant   *governance.Grant        `json:"grant"`
}

// ReasonInput carries a reason or note.
type ReasonInput struct {
	Reason string `json:"reason"`
}

// DetectInput asks for PI detection: a column (header and sample values) or a text.
type DetectInput struct {
	Header string   `json:"header,omitempty"`
	Values []string `json:"values,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// DetectResult answers DetectInput: the column suggestion, and the spans found in the
// text with the text masked.
type DetectResult struct {
	Suggestion *governance.Suggestion `json:"suggestion,omitempty"`
	Spans      []governance.Span      `json:"spans,omitempty"`
	Masked     string                 `json:"masked,omitempty"`
}

type govHandlers struct {
	s   *Server
	svc *governance.Service
}

func actorOf(r *http.Request) *citybrain.Actor {
	a := citybrain.ActorFrom(r.Context())
	if a == nil {
		return nil
	}
	if p := strings.TrimSpace(r.URL.Query().Get("purpose")); p != "" && len([]rune(p)) <= 200 {
		c := *a
		c.Purpose = p
		return &c
	}
	return a
}

func (h govHandlers) catalog(w http.ResponseWriter, r *http.Request) error {
	out, err := h.svc.CatalogFor(r.Context(), actorOf(r))
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, out)
}

func (h govHandlers) dataset(w http.ResponseWriter, r *http.Request) error {
	all, err := h.svc.CatalogFor(r.Context(), actorOf(r))
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	for _, e := range all {
		if e.Name == name {
			return JSON(w, http.StatusOK, e)
		}
	}
	return citybrain.Errorf(citybrain.ENOTFOUND, "数据集 %q 不存在 dataset not found", name)
}

func (h govHandlers) importCSV(w http.ResponseWriter, r *http.Request) error {
	in := governance.ImportInput{}
	var body io.Reader
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mt == "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return citybrain.FieldError("file", "无法读取上传内容 cannot read the multipart body: %v", err)
		}
		for body == nil {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return citybrain.FieldError("file", "上传内容格式错误 malformed multipart body: %v", err)
			}
			if part.FileName() != "" || part.FormName() == "file" {
				body = part // fields after the file are not read: send them first
				break
			}
			b, err := io.ReadAll(io.LimitReader(part, 4<<10))
			if err != nil {
				return citybrain.FieldError(part.FormName(), "cannot read field: %v", err)
			}
			v := strings.TrimSpace(string(b))
			switch part.FormName() {
			case "name":
				in.Name = v
			case "title":
				in.Title = v
			case "owner":
				in.Owner = v
			case "sharing":
				in.Sharing = v
			case "sharing_reason":
				in.SharingReason = v
			}
		}
		if body == nil {
			return citybrain.FieldError("file", "须上传CSV文件 a CSV file part named \"file\" is required")
		}
	case mt == "text/csv" || mt == "application/csv" || mt == "text/plain" || mt == "application/octet-stream":
		q := r.URL.Query()
		in = governance.ImportInput{Name: q.Get("name"), Title: q.Get("title"), Owner: q.Get("owner"), Sharing: q.Get("sharing"), SharingReason: q.Get("sharing_reason")}
		body = r.Body
	default:
		return citybrain.Errorf(citybrain.EUNSUPPORTED, "须为 multipart/form-data 或 text/csv, got %q", r.Header.Get("Content-Type"))
	}
	res, err := h.svc.Import(r.Context(), actorOf(r), in, body, nil)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return citybrain.Errorf(citybrain.ETOOLARGE, "文件超过 %d 字节 file larger than %d bytes", mbe.Limit, mbe.Limit)
		}
		return err
	}
	return JSON(w, http.StatusCreated, res)
}

func (h govHandlers) patch(w http.ResponseWriter, r *http.Request) error {
	var p governance.DatasetPatch
	if err := DecodeJSON(r, &p); err != nil {
		return err
	}
	ds, err := h.svc.Classify(r.Context(), actorOf(r), r.PathValue("name"), p)
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, ds)
}

func (h govHandlers) rows(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := PageParams(r)
	if err != nil {
		return err
	}
	after, err := CursorInt64(cursor)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	rows, last, err := h.svc.Rows(r.Context(), name, after, limit)
	if err != nil {
		return err
	}
	items := make([]any, len(rows))
	for i := range rows {
		items[i] = rows[i]
	}
	a := actorOf(r)
	filtered, err := h.svc.Filter(citybrain.WithActor(r.Context(), a), a, name, items)
	if err != nil {
		return err
	}
	next := ""
	if last > 0 {
		next = EncodeCursor(strconv.FormatInt(last, 10))
	}
	return JSON(w, http.StatusOK, map[string]any{"items": filtered, "next_cursor": next})
}

func (h govHandlers) aggregate(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	aq := governance.AggQuery{Value: q.Get("value"), TimeColumn: q.Get("time_column"), Period: q.Get("period")}
	for _, g := range strings.Split(q.Get("group_by"), ",") {
		if g = strings.TrimSpace(g); g != "" {
			aq.GroupBy = append(aq.GroupBy, g)
		}
	}
	if k := q.Get("k"); k != "" {
		n, err := strconv.Atoi(k)
		if err != nil || n < governance.DefaultK || n > 1000000 {
			return citybrain.FieldError("k", "k 须为 %d 以上的整数 k must be a whole number ≥ %d", governance.DefaultK, governance.DefaultK)
		}
		aq.K = n
	}
	cells, err := h.svc.Aggregate(r.Context(), actorOf(r), r.PathValue("name"), aq)
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, cells)
}

func (h govHandlers) request(w http.ResponseWriter, r *http.Request) error {
	var in governance.RequestInput
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	req, err := h.svc.RequestShare(r.Context(), actorOf(r), in)
	if err != nil {
		return err
	}
	return JSON(w, http.StatusCreated, req)
}

func (h govHandlers) inbox(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	out, err := h.svc.Inbox(r.Context(), actorOf(r), q.Get("box"), q.Get("open") == "1" || q.Get("open") == "true")
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, out)
}

func (h govHandlers) getRequest(w http.ResponseWriter, r *http.Request) error {
	id, err := PathInt64(r, "id")
	if err != nil {
		return err
	}
	req, err := h.svc.Request(r.Context(), actorOf(r), id)
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, req)
}

func (h govHandlers) approve(w http.ResponseWriter, r *http.Request) error {
	id, err := PathInt64(r, "id")
	if err != nil {
		return err
	}
	var in governance.ApproveInput
	if r.ContentLength != 0 {
		if err := DecodeJSON(r, &in); err != nil {
			return err
		}
	}
	req, g, err := h.svc.Approve(r.Context(), actorOf(r), id, in)
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, ApproveResult{Request: req, Grant: g})
}

func (h govHandlers) reasonAction(w http.ResponseWriter, r *http.Request, required bool, fn func(id int64, reason string) (any, error)) error {
	id, err := PathInt64(r, "id")
	if err != nil {
		return err
	}
	var in ReasonInput
	if r.ContentLength != 0 || required {
		if err := DecodeJSON(r, &in); err != nil {
			return err
		}
	}
	out, err := fn(id, in.Reason)
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, out)
}

func (h govHandlers) refuse(w http.ResponseWriter, r *http.Request) error {
	return h.reasonAction(w, r, true, func(id int64, reason string) (any, error) { return h.svc.Refuse(r.Context(), actorOf(r), id, reason) })
}

func (h govHandlers) escalate(w http.ResponseWriter, r *http.Request) error {
	return h.reasonAction(w, r, false, func(id int64, reason string) (any, error) { return h.svc.Escalate(r.Context(), actorOf(r), id, reason) })
}

func (h govHandlers) withdraw(w http.ResponseWriter, r *http.Request) error {
	return h.reasonAction(w, r, false, func(id int64, _ string) (any, error) { return h.svc.Withdraw(r.Context(), actorOf(r), id) })
}

func (h govHandlers) revoke(w http.ResponseWriter, r *http.Request) error {
	return h.reasonAction(w, r, true, func(id int64, reason string) (any, error) { return h.svc.Revoke(r.Context(), actorOf(r), id, reason) })
}

func (h govHandlers) grants(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	out, err := h.svc.Grants(r.Context(), actorOf(r), q.Get("box"), q.Get("active") == "1" || q.Get("active") == "true")
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, out)
}

func (h govHandlers) stats(w http.ResponseWriter, r *http.Request) error {
	from, err := ParseTime("from", r.URL.Query().Get("from"))
	if err != nil {
		return err
	}
	to, err := ParseTime("to", r.URL.Query().Get("to"))
	if err != nil {
		return err
	}
	out, err := h.svc.Stats(r.Context(), from, to)
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, out)
}

func (h govHandlers) setConsent(w http.ResponseWriter, r *http.Request) error {
	var in governance.ConsentInput
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	rec, err := h.svc.SetConsent(r.Context(), actorOf(r), in)
	if err != nil {
		return err
	}
	return JSON(w, http.StatusCreated, rec)
}

func (h govHandlers) consentHistory(w http.ResponseWriter, r *http.Request) error {
	out, err := h.svc.ConsentHistory(r.Context(), r.PathValue("household"))
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, out)
}

func (h govHandlers) policy(w http.ResponseWriter, r *http.Request) error {
	return JSON(w, http.StatusOK, h.svc.Policy())
}

func (h govHandlers) setPolicy(w http.ResponseWriter, r *http.Request) error {
	var p governance.Policy
	if err := DecodeJSON(r, &p); err != nil {
		return err
	}
	out, err := h.svc.SetPolicy(r.Context(), actorOf(r), p)
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, out)
}

func (h govHandlers) detect(w http.ResponseWriter, r *http.Request) error {
	var in DetectInput
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	if len(in.Values) > 1000 || len([]rune(in.Text)) > 20000 {
		return citybrain.Errorf(citybrain.ETOOLARGE, "样本过大 at most 1000 values and 20000 characters")
	}
	var out DetectResult
	if in.Header != "" || len(in.Values) > 0 {
		s := h.svc.Detector().SuggestColumn(in.Header, in.Values)
		out.Suggestion = &s
	}
	if in.Text != "" {
		out.Spans = h.svc.Detector().Find(in.Text)
		out.Masked = h.svc.Enforcer().Masker().MaskText(in.Text, governance.GradeGeneral4)
	}
	return JSON(w, http.StatusOK, out)
}
