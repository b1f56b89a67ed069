package governance

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
)

// RequestShare files a sharing request from the caller's department.
func (s *Service) RequestShare(ctx context.Context, actor *citybrain.Actor, in RequestInput) (*ShareRequest, error) {
	if actor == nil {
		return nil, citybrain.Errorf(citybrain.EUNAUTHORIZED, "须登录 sign in first")
	}
	ds, err := s.Dataset(ctx, in.Dataset)
	if err != nil {
		return nil, err
	}
	r := ReaderFromActor(actor)
	req, err := NewShareRequest(in, ds, r.Department, actor.UserID, s.now(), s.dl)
	if err != nil {
		return nil, err
	}
	if err := s.repo.CreateRequest(ctx, req); err != nil {
		return nil, err
	}
	if err := s.record(ctx, AuditEvent{Actor: actor, Action: AuditChange, Dataset: ds.Name, Table: "share_request", Rows: []string{strconv.FormatInt(req.ID, 10)},
		Columns: req.Columns, Purpose: req.Purpose, Detail: map[string]string{"event": "requested", "level": req.Level.String(), "days": strconv.Itoa(req.Days)}}); err != nil {
		return nil, err
	}
	return req, nil
}

// Inbox lists the requests the caller's department received (box "owner") or sent (box
// "requester"); admins see all received requests.
func (s *Service) Inbox(ctx context.Context, actor *citybrain.Actor, box string, openOnly bool) ([]ShareRequest, error) {
	r := ReaderFromActor(actor)
	f := RequestFilter{OpenOnly: openOnly, Limit: 1000}
	switch box {
	case "owner", "":
		if !actor.Is(citybrain.RoleAdmin) {
			if r.Department == "" {
				return []ShareRequest{}, nil
			}
			f.Owner = r.Department
		}
	case "requester":
		if r.Department == "" {
			return []ShareRequest{}, nil
		}
		f.Requester = r.Department
	default:
		return nil, citybrain.FieldError("box", "box 须为 owner 或 requester")
	}
	return s.repo.ListRequests(ctx, f)
}

// Request returns one request if the caller's department is its owner or requester
// (admins and auditors see all).
func (s *Service) Request(ctx context.Context, actor *citybrain.Actor, id int64) (*ShareRequest, error) {
	req, err := s.repo.GetRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	d := ReaderFromActor(actor).Department
	if actor.Is(citybrain.RoleAdmin, citybrain.RoleAuditor) || (d != "" && (d == req.Owner || d == req.Requester)) {
		return req, nil
	}
	return nil, citybrain.Errorf(citybrain.ENOTFOUND, "申请 %d 不存在 request not found", id)
}

func (s *Service) ownedRequest(ctx context.Context, actor *citybrain.Actor, id int64) (*ShareRequest, *Dataset, error) {
	req, err := s.repo.GetRequest(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	ds, err := s.Dataset(ctx, req.Dataset)
	if err != nil {
		return nil, nil, err
	}
	if actor == nil {
		return nil, nil, citybrain.Errorf(citybrain.EUNAUTHORIZED, "须登录 sign in first")
	}
	// escalated requests are decided by admins (the data administrator)
	if actor.Is(citybrain.RoleAdmin) {
		return req, ds, nil
	}
	if req.State == RequestEscalated {
		return nil, nil, citybrain.Errorf(citybrain.EFORBIDDEN, "已升级的申请由数据管理员处理 escalated requests are decided by the data administrator")
	}
	if ReaderFromActor(actor).Department != req.Owner || !actor.Is(citybrain.RoleDept, citybrain.RoleOperator) {
		return nil, nil, citybrain.Errorf(citybrain.EFORBIDDEN, "只有数据所有部门可以审核 only the owner department decides")
	}
	return req, ds, nil
}

// Approve approves a request (possibly narrower) and creates the grant.
func (s *Service) Approve(ctx context.Context, actor *citybrain.Actor, id int64, in ApproveInput) (*ShareRequest, *Grant, error) {
	req, ds, err := s.ownedRequest(ctx, actor, id)
	if err != nil {
		return nil, nil, err
	}
	g, err := req.Approve(in, ds, actor.UserID, s.now())
	if err != nil {
		return nil, nil, err
	}
	if err := s.repo.ApproveRequest(ctx, req, g); err != nil {
		return nil, nil, err
	}
	if err := s.record(ctx, AuditEvent{Actor: actor, Action: AuditChange, Dataset: ds.Name, Table: "grant", Rows: []string{strconv.FormatInt(g.ID, 10)},
		Columns: g.Columns, Purpose: g.Purpose, Detail: map[string]string{"event": "approved", "request": strconv.FormatInt(req.ID, 10),
			"grantee": g.Grantee, "level": g.Level.String(), "expires": g.Expires.UTC().Format(time.RFC3339)}}); err != nil {
		return nil, nil, err
	}
	return req, g, nil
}

// Refuse refuses a request with a reason.
func (s *Service) Refuse(ctx context.Context, actor *citybrain.Actor, id int64, reason string) (*ShareRequest, error) {
	req, ds, err := s.ownedRequest(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if err := req.Refuse(reason, actor.UserID, s.now()); err != nil {
		return nil, err
	}
	if err := s.repo.UpdateRequest(ctx, req); err != nil {
		return nil, err
	}
	return req, s.record(ctx, AuditEvent{Actor: actor, Action: AuditChange, Dataset: ds.Name, Table: "share_request", Rows: []string{strconv.FormatInt(req.ID, 10)},
		Detail: map[string]string{"event": "refused", "reason": req.Reason}})
}

// Escalate passes a pending request to the data administrator.
func (s *Service) Escalate(ctx context.Context, actor *citybrain.Actor, id int64, note string) (*ShareRequest, error) {
	req, ds, err := s.ownedRequest(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if err := req.Escalate(note, s.now()); err != nil {
		return nil, err
	}
	if err := s.repo.UpdateRequest(ctx, req); err != nil {
		return nil, err
	}
	return req, s.record(ctx, AuditEvent{Actor: actor, Action: AuditChange, Dataset: ds.Name, Table: "share_request", Rows: []string{strconv.FormatInt(req.ID, 10)},
		Detail: map[string]string{"event": "escalated", "note": req.EscalationNote}})
}

// Withdraw lets the requesting department take back an open request.
func (s *Service) Withdraw(ctx context.Context, actor *citybrain.Actor, id int64) (*ShareRequest, error) {
	req, err := s.repo.GetRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	if actor == nil || ReaderFromActor(actor).Department != req.Requester {
		return nil, citybrain.Errorf(citybrain.EFORBIDDEN, "只有申请部门可以撤回 only the requesting department may withdraw")
	}
	if err := req.Withdraw(s.now()); err != nil {
		return nil, err
	}
	if err := s.repo.UpdateRequest(ctx, req); err != nil {
		return nil, err
	}
	return req, s.record(ctx, AuditEvent{Actor: actor, Action: AuditChange, Dataset: req.Dataset, Table: "share_request", Rows: []string{strconv.FormatInt(req.ID, 10)},
		Detail: map[string]string{"event": "withdrawn"}})
}

// Grants lists the grants the caller's department holds (box "requester") or gave (box
// "owner"); admins and auditors see all with box "all".
func (s *Service) Grants(ctx context.Context, actor *citybrain.Actor, box string, activeOnly bool) ([]Grant, error) {
	r := ReaderFromActor(actor)
	f := GrantFilter{}
	if activeOnly {
		f.ActiveAt = s.now()
	}
	switch box {
	case "requester", "":
		if r.Department == "" {
			return []Grant{}, nil
		}
		f.Grantee = r.Department
	case "owner":
		if r.Department == "" {
			return []Grant{}, nil
		}
		f.Owner = r.Department
	case "all":
		if !actor.Is(citybrain.RoleAdmin, citybrain.RoleAuditor) {
			return nil, citybrain.Errorf(citybrain.EFORBIDDEN, "仅管理员和审计员 admins and auditors only")
		}
	default:
		return nil, citybrain.FieldError("box", "box 须为 owner、requester 或 all")
	}
	return s.repo.ListGrants(ctx, f)
}

// Revoke ends a grant before it expires (owner department or admin); a reason is required.
func (s *Service) Revoke(ctx context.Context, actor *citybrain.Actor, id int64, reason string) (*Grant, error) {
	g, err := s.repo.GetGrant(ctx, id)
	if err != nil {
		return nil, err
	}
	ds, err := s.Dataset(ctx, g.Dataset)
	if err != nil {
		return nil, err
	}
	if err := s.mayManage(actor, ds); err != nil {
		return nil, err
	}
	if g.Revoked {
		return nil, citybrain.Errorf(citybrain.ECONFLICT, "授权已撤销 grant already revoked")
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, citybrain.FieldError("reason", "撤销须说明理由 a reason is required")
	}
	now := s.now()
	g.Revoked, g.RevokedAt, g.RevokeReason = true, now, reason
	if actor != nil {
		g.RevokedBy = actor.UserID
	}
	if err := s.repo.UpdateGrant(ctx, g); err != nil {
		return nil, err
	}
	return g, s.record(ctx, AuditEvent{Actor: actor, Action: AuditChange, Dataset: g.Dataset, Table: "grant", Rows: []string{strconv.FormatInt(g.ID, 10)},
		Detail: map[string]string{"event": "revoked", "reason": reason, "grantee": g.Grantee}})
}

// Sweep escalates pending requests past their answer deadline (the owner "let it
// escalate"). It returns how many it escalated. Run it periodically.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	reqs, err := s.repo.ListRequests(ctx, RequestFilter{State: RequestPending, Limit: 10000})
	if err != nil {
		return 0, err
	}
	now := s.now()
	n := 0
	for i := range reqs {
		r := &reqs[i]
		if !r.Overdue(now) {
			continue
		}
		if err := r.Escalate("答复期限已过，自动升级 answer deadline passed", now); err != nil {
			continue
		}
		if err := s.repo.UpdateRequest(ctx, r); err != nil {
			return n, err
		}
		n++
		if err := s.record(ctx, AuditEvent{Actor: &citybrain.Actor{Username: "system", Role: "system"}, Action: AuditChange, Dataset: r.Dataset, Table: "share_request",
			Rows: []string{strconv.FormatInt(r.ID, 10)}, Detail: map[string]string{"event": "escalated", "note": "deadline"}}); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Stats returns the sharing statistics per department for requests created in
// [from, to) (zero times: all).
func (s *Service) Stats(ctx context.Context, from, to time.Time) ([]SharingStats, error) {
	reqs, err := s.repo.ListRequests(ctx, RequestFilter{Limit: 1 << 30})
	if err != nil {
		return nil, err
	}
	kept := reqs[:0]
	for _, r := range reqs {
		if (!from.IsZero() && r.CreatedAt.Before(from)) || (!to.IsZero() && !r.CreatedAt.Before(to)) {
			continue
		}
		kept = append(kept, r)
	}
	return ComputeStats(kept, s.now()), nil
}

// ConsentInput records a household's consent decision.
type ConsentInput struct {
	Household string `json:"household"`
	Purpose   string `json:"purpose"`
	Status    string `json:"status"` // granted or withdrawn
	Note      string `json:"note,omitempty"`
}

// SetConsent records a consent change (admins, and civil-affairs, street and community
// staff who collect it from residents); the history is kept.
func (s *Service) SetConsent(ctx context.Context, actor *citybrain.Actor, in ConsentInput) (*ConsentRecord, error) {
	if actor != nil && !actor.Is(citybrain.RoleAdmin, citybrain.RoleDept, citybrain.RoleWorker, citybrain.RoleOperator) {
		return nil, citybrain.Errorf(citybrain.EFORBIDDEN, "无权登记住户同意 not allowed to record consent")
	}
	st, err := ParseConsent(in.Status)
	if err != nil {
		return nil, err
	}
	hh, purpose := strings.TrimSpace(in.Household), strings.TrimSpace(in.Purpose)
	if hh == "" || len(hh) > 64 {
		return nil, citybrain.FieldError("household", "须指定住户编号 household is required (≤64)")
	}
	if purpose == "" || len(purpose) > 200 {
		return nil, citybrain.FieldError("purpose", "须指定用途 purpose is required (≤200)")
	}
	rec := &ConsentRecord{Household: hh, Purpose: purpose, Status: st, State: st.String(), Note: strings.TrimSpace(in.Note), At: s.now()}
	if actor != nil {
		rec.By = actor.UserID
	}
	if err := s.repo.AddConsent(ctx, rec); err != nil {
		return nil, err
	}
	return rec, s.record(ctx, AuditEvent{Actor: actor, Action: AuditChange, Table: "consent", Rows: []string{hh}, Purpose: purpose,
		Detail: map[string]string{"event": "consent", "status": st.String()}})
}

// ConsentHistory returns a household's consent history, oldest first.
func (s *Service) ConsentHistory(ctx context.Context, household string) ([]ConsentRecord, error) {
	return s.repo.ConsentHistory(ctx, household)
}
