package workorder

import (
	"context"
	"crypto/subtle"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/citybrain/citybrain"
)

// ActionRequest is one lifecycle move asked by a person (or the system).
type ActionRequest struct {
	Action      Action   `json:"action"`
	Reason      string   `json:"reason"`
	Attachments []string `json:"attachments,omitempty"`
	// Dept and Assist name the units for dispatch and reassign (default: the catalogue).
	Dept   string   `json:"dept,omitempty"`
	Assist []string `json:"assist,omitempty"`
	// Category, Subcategory and Priority record a triage decision on dispatch or reassign.
	Category    string   `json:"category,omitempty"`
	Subcategory string   `json:"subcategory,omitempty"`
	Priority    Priority `json:"priority,omitempty"`
	// Until is the requested (or approved) new deadline of an extension.
	Until time.Time `json:"until,omitzero"`
	// Rating (1..5) and Satisfied for rate.
	Rating    int   `json:"rating,omitempty"`
	Satisfied *bool `json:"satisfied,omitempty"`
	// DuplicateOf is the order this one duplicates (close_duplicate).
	DuplicateOf int64 `json:"duplicate_of,omitempty"`
	// Public makes a note visible to the citizen.
	Public bool `json:"public,omitempty"`
	// Version, when set, must equal the order's current version (optimistic locking for UIs).
	Version int64 `json:"version,omitempty"`
}

// Act applies a lifecycle move to order id on behalf of the actor in ctx. The move must be
// in the table for the order's state and the actor's role, and the actor must be in scope:
// department staff of the lead unit, a worker of the order's area, the reporter. Errors:
// EUNAUTHORIZED without an actor, ENOTFOUND, EFORBIDDEN, ECONFLICT (state), EINVALID.
func (s *Service) Act(ctx context.Context, id int64, req ActionRequest) (*Order, error) {
	a := citybrain.ActorFrom(ctx)
	if a == nil {
		return nil, citybrain.Errorf(citybrain.EUNAUTHORIZED, "请先登录或使用查询码 sign in or use the tracking token")
	}
	o, err := s.repo.GetOrder(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.apply(ctx, o, a, s.rolesFor(a, o), req)
}

// ActWithToken lets the reporter act (rate, reopen, add a note, cancel before dispatch)
// with the tracking number and the secret token, without an account.
func (s *Service) ActWithToken(ctx context.Context, trackingNo, token string, req ActionRequest) (*Order, error) {
	o, err := s.Track(ctx, trackingNo, token)
	if err != nil {
		return nil, err
	}
	a := &citybrain.Actor{Username: "reporter", Role: RoleReporter}
	if u := citybrain.ActorFrom(ctx); u != nil {
		a.UserID = u.UserID
	}
	return s.apply(ctx, o, a, []string{RoleReporter}, req)
}

// rolesFor returns the table roles the actor may use on o, most specific first.
func (s *Service) rolesFor(a *citybrain.Actor, o *Order) []string {
	var roles []string
	switch a.Role {
	case citybrain.RoleAdmin, citybrain.RoleOperator, RoleSystem:
		roles = append(roles, a.Role)
	case citybrain.RoleDept:
		if s.isLeadUnit(a, o) {
			roles = append(roles, citybrain.RoleDept)
		}
	case citybrain.RoleWorker:
		if a.Area != "" && (a.Area == o.Grid || a.Area == o.Community || a.Area == o.Street) {
			roles = append(roles, citybrain.RoleWorker)
			// Street and community workers handle what the street office leads.
			if o.LeadDept == StreetOffice {
				roles = append(roles, citybrain.RoleDept)
			}
		}
	}
	for _, r := range o.Reporters {
		if a.UserID != 0 && r.UserID == a.UserID {
			roles = append(roles, RoleReporter)
			break
		}
	}
	return roles
}

func (s *Service) isLeadUnit(a *citybrain.Actor, o *Order) bool {
	if a.Department == "" || a.Department != o.LeadDept {
		return false
	}
	if o.LeadDept == StreetOffice && a.Area != "" && a.Area != o.Street {
		return false
	}
	return true
}

func needsReason(act Action) bool {
	switch act {
	case ActDispute, ActRequestExtension, ActRefuseExtension, ActFeedback, ActRework, ActReopen,
		ActCloseNotResponsib, ActCancel, ActNote:
		return true
	}
	return false
}

func (s *Service) apply(ctx context.Context, o *Order, a *citybrain.Actor, roles []string, req ActionRequest) (*Order, error) {
	if req.Action == ActCreate || req.Action == ActMergeReporter {
		return nil, citybrain.FieldError("action", "不能直接执行此操作 action %s is internal", req.Action)
	}
	if req.Version != 0 && req.Version != o.Version {
		return nil, citybrain.Errorf(citybrain.ECONFLICT, "工单已被他人修改，请刷新 the order changed, reload it")
	}
	req.Reason = strings.TrimSpace(req.Reason)
	if utf8.RuneCountInString(req.Reason) > 4000 {
		return nil, citybrain.FieldError("reason", "说明过长 reason too long (max 4000)")
	}
	if len(req.Attachments) > 20 {
		return nil, citybrain.FieldError("attachments", "附件过多 at most 20 attachments")
	}
	if err := checkMediaRefs("attachments", req.Attachments); err != nil {
		return nil, err
	}
	if len(roles) == 0 {
		// A move that does not exist is a conflict whoever asks; otherwise out of scope.
		if _, err := s.life.Next(o.State, req.Action, citybrain.RoleAdmin); err != nil && citybrain.ErrorCode(err) == citybrain.ECONFLICT {
			if _, err2 := s.life.Next(o.State, req.Action, citybrain.RoleDept); citybrain.ErrorCode(err2) == citybrain.ECONFLICT {
				if _, err3 := s.life.Next(o.State, req.Action, RoleReporter); citybrain.ErrorCode(err3) == citybrain.ECONFLICT {
					return nil, err
				}
			}
		}
		return nil, citybrain.Errorf(citybrain.EFORBIDDEN, "无权处理此工单 not allowed to act on this order")
	}
	var to State
	var role string
	var err error
	for _, r := range roles {
		if to, err = s.life.Next(o.State, req.Action, r); err == nil {
			role = r
			break
		}
		if citybrain.ErrorCode(err) == citybrain.ECONFLICT {
			return nil, err
		}
	}
	if err != nil {
		return nil, err
	}
	if needsReason(req.Action) && req.Reason == "" {
		return nil, citybrain.FieldError("reason", "请填写说明 a reason is required for %s", req.Action)
	}
	s.mu.RLock()
	dict, cfg, cat, sla, cal := s.dict, s.cfg, s.catalogue, s.sla, s.cal
	s.mu.RUnlock()
	now := s.clock.Now()
	from := o.State
	evActor := a
	if role == RoleReporter {
		evActor = &citybrain.Actor{UserID: a.UserID, Username: "reporter", Role: RoleReporter}
	}
	data := map[string]string{}
	public := true
	var extra []*Event
	var training *TrainingExample
	var afterDup *Order
	notice := ""

	switch req.Action {
	case ActNeedTriage:
		public = false
	case ActDispatch, ActReassign:
		if req.Category != "" || req.Subcategory != "" || req.Priority != "" {
			if err := s.recategorise(dict, o, req); err != nil {
				return nil, err
			}
		}
		lead, assist := req.Dept, req.Assist
		if lead == "" {
			lead, assist = cat.Route(dict, o.Category, o.Subcategory)
		}
		if err := checkDept(dict, lead); err != nil {
			return nil, err
		}
		for _, x := range assist {
			if err := checkDept(dict, x); err != nil {
				return nil, err
			}
		}
		if from == StateTriage {
			training = &TrainingExample{OrderID: o.ID, Text: strings.TrimSpace(o.Title + " " + o.Description),
				ProposedCategory: o.TriageCategory, ProposedConfidence: o.TriageConfidence,
				ChosenCategory: o.Category, ChosenDept: lead, ActorID: a.UserID, At: now}
			if o.Subcategory != "" {
				training.ChosenCategory = o.Subcategory
			}
		}
		s.dispatchInto(o, lead, assist, now, sla, cal)
		data["dept"], data["assist"], data["category"] = lead, strings.Join(assist, ","), o.Category
		data["deadline"] = o.Deadline.Format(time.RFC3339)
		notice = fmt.Sprintf("工单%s派至%s，%s前反馈 order %s dispatched to %s, feedback due %s", o.TrackingNo, lead,
			o.Deadline.In(cal.Location()).Format("2006-01-02 15:04"), o.TrackingNo, lead, o.Deadline.In(cal.Location()).Format("2006-01-02 15:04"))
	case ActAcknowledge, ActStart, ActVerify:
	case ActDispute:
		data["dept"] = o.LeadDept
	case ActRequestExtension:
		if o.ExtensionPending {
			return nil, citybrain.Errorf(citybrain.ECONFLICT, "已有待审批的延期申请 an extension request is pending")
		}
		if !o.Deadline.IsZero() && !now.Before(o.Deadline) {
			return nil, citybrain.Errorf(citybrain.ECONFLICT, "已超期，须在期限前申请延期 extensions must be requested before the deadline")
		}
		if req.Until.IsZero() || !req.Until.After(o.Deadline) {
			return nil, citybrain.FieldError("until", "延期至须晚于当前期限 until must be after the current deadline")
		}
		o.ExtensionPending, o.ExtensionUntil = true, req.Until
		data["until"] = req.Until.Format(time.RFC3339)
		public = false
	case ActApproveExtension:
		if !o.ExtensionPending {
			return nil, citybrain.Errorf(citybrain.ECONFLICT, "没有待审批的延期申请 no extension request pending")
		}
		until := o.ExtensionUntil
		if !req.Until.IsZero() {
			if !req.Until.After(now) {
				return nil, citybrain.FieldError("until", "延期至须晚于现在 until must be in the future")
			}
			until = req.Until
		}
		frac := sla.RemindAt
		if frac == 0 {
			frac = 0.8
		}
		o.Deadline = until
		o.RemindAt = now.Add(time.Duration(frac * float64(until.Sub(now))))
		o.Reminded, o.Escalated, o.ExtensionPending, o.ExtensionUntil = false, false, false, time.Time{}
		data["deadline"] = until.Format(time.RFC3339)
		notice = fmt.Sprintf("工单%s延期至%s order %s extended to %s", o.TrackingNo, until.In(cal.Location()).Format("2006-01-02 15:04"), o.TrackingNo, until.In(cal.Location()).Format("2006-01-02 15:04"))
	case ActRefuseExtension:
		if !o.ExtensionPending {
			return nil, citybrain.Errorf(citybrain.ECONFLICT, "没有待审批的延期申请 no extension request pending")
		}
		o.ExtensionPending, o.ExtensionUntil = false, time.Time{}
		public = false
		notice = fmt.Sprintf("工单%s延期申请被驳回 extension of %s refused: %s", o.TrackingNo, o.TrackingNo, req.Reason)
	case ActFeedback:
		o.RespondedAt = now
		o.StatusNotes = req.Reason
		if !o.Deadline.IsZero() && now.After(o.Deadline) {
			data["late"] = "true"
		}
	case ActRework:
		o.RespondedAt = time.Time{}
		notice = fmt.Sprintf("工单%s核查未通过，请返工 order %s failed verification: %s", o.TrackingNo, o.TrackingNo, req.Reason)
	case ActClose:
		o.Resolution, o.ClosedAt = ResolutionFixed, now
		if req.Reason != "" {
			o.StatusNotes = req.Reason
		}
	case ActRate:
		if req.Rating < 1 || req.Rating > 5 {
			return nil, citybrain.FieldError("rating", "评分须为1到5 rating must be 1..5")
		}
		sat := req.Rating >= 3
		if req.Satisfied != nil {
			sat = *req.Satisfied
		}
		o.Rating, o.Satisfied, o.Comment = req.Rating, &sat, req.Reason
		data["rating"] = strconv.Itoa(req.Rating)
		data["satisfied"] = strconv.FormatBool(sat)
	case ActReopen:
		if role == RoleReporter && cfg.ReopenWindow > 0 && now.Sub(o.ClosedAt) > time.Duration(cfg.ReopenWindow) {
			return nil, citybrain.Errorf(citybrain.ECONFLICT, "已超过可重办期限 too late to reopen (closed %s)", o.ClosedAt.Format(time.RFC3339))
		}
		if o.Resolution == ResolutionDuplicate {
			return nil, citybrain.Errorf(citybrain.ECONFLICT, "重复件请在主工单跟进 follow the order this one was merged into")
		}
		lead, assist := o.LeadDept, o.AssistDepts
		if lead == "" {
			lead, assist = cat.Route(dict, o.Category, o.Subcategory)
		}
		o.Resolution, o.ClosedAt, o.Rating, o.Satisfied, o.Comment = "", time.Time{}, 0, nil, ""
		s.dispatchInto(o, lead, assist, now, sla, cal)
		data["dept"], data["deadline"] = lead, o.Deadline.Format(time.RFC3339)
		notice = fmt.Sprintf("工单%s市民不满意已重办，%s前反馈 order %s reopened, feedback due %s", o.TrackingNo,
			o.Deadline.In(cal.Location()).Format("2006-01-02 15:04"), o.TrackingNo, o.Deadline.In(cal.Location()).Format("2006-01-02 15:04"))
	case ActCloseDuplicate:
		if req.DuplicateOf == 0 || req.DuplicateOf == o.ID {
			return nil, citybrain.FieldError("duplicate_of", "请指定主工单 name the order this one duplicates")
		}
		m, err := s.repo.GetOrder(ctx, req.DuplicateOf)
		if err != nil {
			if citybrain.ErrorCode(err) == citybrain.ENOTFOUND {
				return nil, citybrain.FieldError("duplicate_of", "主工单不存在 order %d not found", req.DuplicateOf)
			}
			return nil, err
		}
		if !m.Open() || m.DuplicateOf != 0 {
			return nil, citybrain.FieldError("duplicate_of", "主工单须为未办结工单 the master order must be open")
		}
		o.Resolution, o.DuplicateOf, o.ClosedAt = ResolutionDuplicate, m.ID, now
		o.StatusNotes = fmt.Sprintf("已并入工单%s处理 merged into %s", m.TrackingNo, m.TrackingNo)
		data["duplicate_of"], data["tracking_no"] = strconv.FormatInt(m.ID, 10), m.TrackingNo
		afterDup = m
	case ActCloseNotResponsib:
		o.Resolution, o.ClosedAt, o.StatusNotes = ResolutionNotResponsible, now, req.Reason
	case ActCancel:
		o.Resolution, o.ClosedAt, o.StatusNotes = ResolutionCancelled, now, req.Reason
	case ActNote:
		public = req.Public || role == RoleReporter
		if public && role != RoleReporter {
			o.StatusNotes = req.Reason
		}
	case ActRemind:
		o.Reminded = true
		public = false
		notice = fmt.Sprintf("催办：工单%s请于%s前反馈 reminder: order %s due %s", o.TrackingNo, o.Deadline.In(cal.Location()).Format("2006-01-02 15:04"), o.TrackingNo, o.Deadline.In(cal.Location()).Format("2006-01-02 15:04"))
	case ActEscalate:
		o.Escalated = true
		public = false
		notice = fmt.Sprintf("督办：工单%s已超期 escalation: order %s is overdue", o.TrackingNo, o.TrackingNo)
	default:
		return nil, citybrain.FieldError("action", "未知操作 unknown action %q", req.Action)
	}
	o.State = to
	o.UpdatedAt = now
	o.NextDue = nextDue(o)
	ev := s.event(evActor, req.Action, from, to, req.Reason, req.Attachments, public, data)
	if len(data) == 0 {
		ev.Data = nil
	}
	if err := s.repo.UpdateOrder(ctx, o, append([]*Event{ev}, extra...)...); err != nil {
		return nil, err
	}
	if training != nil {
		if err := s.repo.AddTrainingExample(ctx, training); err != nil {
			return o, fmt.Errorf("record training example: %w", err)
		}
	}
	if afterDup != nil {
		if _, err := s.mergeReporters(ctx, afterDup.ID, o); err != nil {
			return o, err
		}
	}
	s.afterMove(ctx, o, req.Action, public, notice, req.Reason)
	return o, nil
}

func (s *Service) recategorise(dict *Dictionary, o *Order, req ActionRequest) error {
	if req.Category != "" {
		c, ok := dict.Category(req.Category)
		if !ok {
			return citybrain.FieldError("category", "分类不存在 unknown category %q", req.Category)
		}
		o.Category, o.Subcategory = dict.Root(c.Code), ""
		if c.Parent != "" {
			o.Subcategory = c.Code
		}
	}
	if req.Subcategory != "" {
		c, ok := dict.Category(req.Subcategory)
		if !ok || dict.Root(c.Code) != o.Category {
			return citybrain.FieldError("subcategory", "小类不属于该分类 subcategory %q not in %q", req.Subcategory, o.Category)
		}
		o.Subcategory = c.Code
	}
	if req.Priority != "" {
		if !ValidPriority(req.Priority) {
			return citybrain.FieldError("priority", "优先级无效 unknown priority %q", req.Priority)
		}
		o.Priority = req.Priority
	}
	return nil
}

// afterMove sends the notices of a move: units for dispatch, reminders and escalations;
// every reporter for public moves.
func (s *Service) afterMove(ctx context.Context, o *Order, act Action, public bool, notice, reason string) {
	switch act {
	case ActDispatch, ActReassign, ActReopen, ActRemind, ActRework, ActApproveExtension, ActRefuseExtension:
		s.tellDept(ctx, o, act, notice)
	case ActEscalate:
		s.tellDept(ctx, o, act, notice)
		s.tellOperator(ctx, o, act, notice)
	case ActDispute, ActRequestExtension:
		s.tellOperator(ctx, o, act, fmt.Sprintf("工单%s：%s order %s: %s %s", o.TrackingNo, reason, o.TrackingNo, act, reason))
	}
	if public {
		info := stateName(o.State)
		text := fmt.Sprintf("您的诉求%s状态：%s order %s is now %s", o.TrackingNo, info.NameZh, o.TrackingNo, info.NameEn)
		if o.StatusNotes != "" && (act == ActFeedback || act == ActClose || act == ActCloseNotResponsib || act == ActCloseDuplicate) {
			text += "：" + o.StatusNotes
		}
		s.tell(ctx, o, act, text)
	}
}

func stateName(st State) StateInfo {
	for _, i := range States() {
		if i.State == st {
			return i
		}
	}
	return StateInfo{State: st, NameZh: string(st), NameEn: string(st)}
}

// Get returns an order for staff, or for a citizen who reported it.
func (s *Service) Get(ctx context.Context, id int64) (*Order, error) {
	a := citybrain.ActorFrom(ctx)
	if a == nil {
		return nil, citybrain.Errorf(citybrain.EUNAUTHORIZED, "请先登录 sign in first")
	}
	o, err := s.repo.GetOrder(ctx, id)
	if err != nil {
		return nil, err
	}
	if !canRead(a, o) {
		return nil, citybrain.Errorf(citybrain.ENOTFOUND, "工单不存在 work order %d not found", id)
	}
	return o, nil
}

// canRead: the command center, auditors and the system read everything; a unit reads the
// orders it leads or assists; a worker reads the orders of its area; a citizen reads what
// they reported.
func canRead(a *citybrain.Actor, o *Order) bool {
	switch a.Role {
	case citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleAuditor, RoleSystem:
		return true
	case citybrain.RoleDept:
		if a.Department != "" && (a.Department == o.LeadDept && (o.LeadDept != StreetOffice || a.Area == "" || a.Area == o.Street) ||
			slices.Contains(o.AssistDepts, a.Department)) {
			return true
		}
	case citybrain.RoleWorker:
		if a.Area != "" && (a.Area == o.Grid || a.Area == o.Community || a.Area == o.Street) {
			return true
		}
	}
	for _, r := range o.Reporters {
		if a.UserID != 0 && r.UserID == a.UserID {
			return true
		}
	}
	return false
}

// History returns the order's full history for staff; a reporter sees only public events.
func (s *Service) History(ctx context.Context, id int64) ([]Event, error) {
	o, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	evs, err := s.repo.Events(ctx, id)
	if err != nil {
		return nil, err
	}
	if citybrain.ActorFrom(ctx).Is(citybrain.RoleCitizen) {
		return publicEvents(evs), nil
	}
	_ = o
	return evs, nil
}

func publicEvents(evs []Event) []Event {
	var out []Event
	for _, e := range evs {
		if e.Public {
			e.ActorID, e.ActorName = 0, ""
			out = append(out, e)
		}
	}
	return out
}

// Track returns the order for a tracking number and its secret token. A wrong token and an
// unknown number both give ENOTFOUND so numbers cannot be probed.
func (s *Service) Track(ctx context.Context, trackingNo, token string) (*Order, error) {
	notFound := citybrain.Errorf(citybrain.ENOTFOUND, "查询码或工单号不正确 tracking number or token not recognised")
	if !ValidTrackingNumber(trackingNo) || token == "" {
		return nil, notFound
	}
	o, err := s.repo.GetOrderByTrackingNo(ctx, trackingNo)
	if citybrain.ErrorCode(err) == citybrain.ENOTFOUND {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(o.TokenHash), []byte(HashToken(token))) != 1 {
		return nil, notFound
	}
	return o, nil
}

// TrackHistory returns the public history of an order for its reporter.
func (s *Service) TrackHistory(ctx context.Context, trackingNo, token string) (*Order, []Event, error) {
	o, err := s.Track(ctx, trackingNo, token)
	if err != nil {
		return nil, nil, err
	}
	evs, err := s.repo.Events(ctx, o.ID)
	if err != nil {
		return nil, nil, err
	}
	return o, publicEvents(evs), nil
}

// List returns orders for staff; a citizen sees only the orders they reported.
func (s *Service) List(ctx context.Context, f Filter) ([]*Order, error) {
	a := citybrain.ActorFrom(ctx)
	if a == nil {
		return nil, citybrain.Errorf(citybrain.EUNAUTHORIZED, "请先登录 sign in first")
	}
	if err := scope(a, &f); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	if f.Overdue && f.Now.IsZero() {
		f.Now = s.clock.Now()
	}
	return s.repo.ListOrders(ctx, f)
}

// scope narrows a filter to what the actor may list: a unit the orders it leads (a street
// office those of its street), a worker those of its area, a citizen those they reported.
func scope(a *citybrain.Actor, f *Filter) error {
	switch {
	case a.Is(citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleAuditor) || a.Role == RoleSystem:
	case a.Is(citybrain.RoleDept):
		if a.Department == "" {
			return citybrain.Errorf(citybrain.EFORBIDDEN, "账号未关联单位 / your account has no unit")
		}
		f.LeadDept = a.Department
		if a.Department == StreetOffice && a.Area != "" {
			f.Street = a.Area
		}
	case a.Is(citybrain.RoleWorker):
		if a.Area == "" {
			return citybrain.Errorf(citybrain.EFORBIDDEN, "账号未关联网格 / your account has no area")
		}
		f.Area = a.Area
	default:
		if a.UserID == 0 {
			return citybrain.Errorf(citybrain.EFORBIDDEN, "无权查看 not allowed")
		}
		f.ReporterID = a.UserID
	}
	return nil
}

// TriageQueue returns the orders waiting for a human triage decision (待分拨), oldest last.
func (s *Service) TriageQueue(ctx context.Context, limit int) ([]*Order, error) {
	a := citybrain.ActorFrom(ctx)
	if !a.Is(citybrain.RoleAdmin, citybrain.RoleOperator) {
		return nil, citybrain.Errorf(citybrain.EFORBIDDEN, "仅分拨人员可查看 triage staff only")
	}
	return s.repo.ListOrders(ctx, Filter{States: []State{StateTriage}, Limit: limit})
}

// TrainingExamples returns the recorded human triage decisions (administrators, operators).
func (s *Service) TrainingExamples(ctx context.Context, limit int) ([]TrainingExample, error) {
	if !citybrain.ActorFrom(ctx).Is(citybrain.RoleAdmin, citybrain.RoleOperator) {
		return nil, citybrain.Errorf(citybrain.EFORBIDDEN, "无权查看 not allowed")
	}
	return s.repo.TrainingExamples(ctx, limit)
}

// PublicList lists orders for public read surfaces (Open311 GET requests); it needs no
// actor and returns only the fields of PublicView.
func (s *Service) PublicList(ctx context.Context, f Filter) ([]*Order, error) {
	return s.repo.ListPublic(ctx, f)
}

// PublicGetByTrackingNo returns the PublicView of an order (see PublicList).
func (s *Service) PublicGetByTrackingNo(ctx context.Context, no string) (*Order, error) {
	o, err := s.repo.GetOrderByTrackingNo(ctx, no)
	if err != nil {
		return nil, err
	}
	return PublicView(o), nil
}

// PublicGetByToken returns the PublicView of the order whose secret token is token
// (Open311 tokens/{token}).
func (s *Service) PublicGetByToken(ctx context.Context, token string) (*Order, error) {
	o, err := s.repo.GetOrderByTokenHash(ctx, HashToken(token))
	if err != nil {
		return nil, err
	}
	return PublicView(o), nil
}

// PublicUpdates returns public moves of all orders in [from, to), oldest first, for Open311
// servicerequestupdates; actor names are removed.
func (s *Service) PublicUpdates(ctx context.Context, from, to time.Time, limit int) ([]Update, error) {
	us, err := s.repo.PublicUpdates(ctx, from, to, limit)
	for i := range us {
		us[i].ActorID, us[i].ActorName, us[i].ActorDept = 0, "", ""
	}
	return us, err
}

// UpdateStatus returns the Open311 status and the FixMyStreet extended status after an
// update (a public event).
func UpdateStatus(u Update) (status, extended string) {
	status = "open"
	if !u.To.IsOpen() {
		status = "closed"
	}
	switch u.Action {
	case ActClose:
		return status, "FIXED"
	case ActCloseDuplicate:
		return status, "DUPLICATE"
	case ActCloseNotResponsib:
		return status, "NOT_COUNCILS_RESPONSIBILITY"
	case ActCancel:
		return status, "CANCELLED"
	case ActReopen:
		return status, "REOPEN"
	}
	o := &Order{State: u.To}
	if !u.To.IsOpen() {
		return status, "CLOSED"
	}
	return status, ExtendedStatus(o)
}

// Projection of the lifecycle onto public statuses.

// PublicStatus returns Open311's status ("open" or "closed") for an order.
func PublicStatus(o *Order) string {
	if o.Open() {
		return "open"
	}
	return "closed"
}

// ExtendedStatus returns the FixMyStreet-style extended status of an order.
func ExtendedStatus(o *Order) string {
	switch o.State {
	case StateAccepted:
		return "OPEN"
	case StateTriage:
		return "FOR_TRIAGE"
	case StateDispatched:
		return "ACTION_SCHEDULED"
	case StateReturned:
		return "INTERNAL_REFERRAL"
	case StateAcknowledged:
		return "INVESTIGATING"
	case StateInProgress, StateResponded, StateVerified:
		return "IN_PROGRESS"
	}
	switch o.Resolution {
	case ResolutionDuplicate:
		return "DUPLICATE"
	case ResolutionNotResponsible:
		return "NOT_COUNCILS_RESPONSIBILITY"
	case ResolutionCancelled:
		return "CANCELLED"
	case ResolutionFixed:
		return "FIXED"
	}
	return "CLOSED"
}

// ProcessDue sends the reminders (催办) and escalations (督办) that are due at the clock's
// now, including every one missed while the process was down: the work is computed from
// the stored NextDue, so running it at start catches up. It returns the number of moves made.
func (s *Service) ProcessDue(ctx context.Context) (int, error) {
	now := s.clock.Now()
	sys := &citybrain.Actor{Username: "system", Role: RoleSystem}
	done := 0
	seen := map[int64]int{}
	for {
		batch, err := s.repo.DueOrders(ctx, now, 200)
		if err != nil {
			return done, fmt.Errorf("due orders: %w", err)
		}
		progressed := false
		for _, o := range batch {
			if seen[o.ID] > 2 {
				continue
			}
			seen[o.ID]++
			var act Action
			switch {
			case !o.Reminded && !o.RemindAt.IsZero() && !o.RemindAt.After(now) && o.RemindAt.Before(o.Deadline):
				act = ActRemind
			case !o.Escalated && !o.Deadline.After(now):
				act = ActEscalate
			default:
				// Stale NextDue (e.g. written by an older version): recompute and store.
				o.NextDue = nextDue(o)
				if err := s.repo.UpdateOrder(ctx, o); err == nil {
					progressed = true
				}
				continue
			}
			due := o.RemindAt
			if act == ActEscalate {
				due = o.Deadline
			}
			req := ActionRequest{Action: act, Reason: fmt.Sprintf("系统自动%s system %s (due %s)", map[Action]string{ActRemind: "催办", ActEscalate: "督办"}[act], act, due.Format(time.RFC3339))}
			_, err := s.apply(ctx, o, sys, []string{RoleSystem}, req)
			if err != nil {
				if c := citybrain.ErrorCode(err); c == citybrain.ECONFLICT || c == citybrain.EFORBIDDEN {
					continue // changed meanwhile or not in a remindable state; next round
				}
				return done, err
			}
			done++
			progressed = true
		}
		if !progressed {
			return done, nil
		}
	}
}

// Run processes deadlines at start (catching up on downtime) and then every interval until
// ctx ends. Errors are passed to logf.
func (s *Service) Run(ctx context.Context, interval time.Duration, logf func(format string, args ...any)) {
	if interval <= 0 {
		interval = time.Minute
	}
	tick := func() {
		if n, err := s.ProcessDue(ctx); err != nil && logf != nil {
			logf("workorder deadlines: %v", err)
		} else if n > 0 && logf != nil {
			logf("workorder deadlines: %d reminders/escalations", n)
		}
	}
	tick()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			tick()
		}
	}
}

// AlertOrder is what a rule's alert needs to open a work order.
type AlertOrder struct {
	AlertID     string
	Title       string
	Description string
	Category    string
	Priority    Priority
	Dept        string
	HasLocation bool
	Lon, Lat    float64
	Address     string
	// Grid, Community and Street: the alert's area, when it has no coordinates.
	Grid, Community, Street string
}

// OpenFromAlert opens a work order for an alert through the same path as every report; the
// actor in ctx (or the system) is recorded as the reporter. The category may be any case; an
// unknown category or priority is left to the assistant and the SLA defaults. It returns the order id and
// tracking number. It is what the rules engine's WorkOrderOpener calls.
func (s *Service) OpenFromAlert(ctx context.Context, in AlertOrder) (int64, string, error) {
	if citybrain.ActorFrom(ctx) == nil {
		ctx = citybrain.WithActor(ctx, &citybrain.Actor{Username: "system", Role: RoleSystem})
	}
	desc := in.Description
	if desc == "" {
		desc = in.Title
	}
	// Rules name categories loosely ("drainage"); an unknown one is left to the assistant
	// rather than failing the alert.
	if in.Category = strings.ToUpper(strings.TrimSpace(in.Category)); in.Category != "" {
		if _, ok := s.Dictionary().Category(in.Category); !ok {
			in.Category = ""
		}
	}
	if !ValidPriority(in.Priority) {
		in.Priority = ""
	}
	res, err := s.Create(ctx, NewReport{Source: SourceAlert, SourceRef: in.AlertID, Title: in.Title, Description: desc,
		Category: in.Category, Priority: in.Priority, Dept: in.Dept, HasLocation: in.HasLocation, Lon: in.Lon, Lat: in.Lat,
		Address: in.Address, Grid: in.Grid, Community: in.Community, Street: in.Street, Reporter: Reporter{Name: "告警 alert " + in.AlertID}})
	if err != nil {
		return 0, "", err
	}
	return res.Order.ID, res.Order.TrackingNo, nil
}

// Stats counts orders for dashboards: open, overdue, in triage.
type Stats struct {
	Open    int `json:"open"`
	Overdue int `json:"overdue"`
	Triage  int `json:"triage"`
}

// Counts returns the dashboard counts (staff only).
func (s *Service) Counts(ctx context.Context) (Stats, error) {
	if !citybrain.ActorFrom(ctx).Is(citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleAuditor, citybrain.RoleDept, citybrain.RoleWorker) {
		return Stats{}, citybrain.Errorf(citybrain.EFORBIDDEN, "无权查看 not allowed")
	}
	open := true
	var st Stats
	var err error
	scoped := func(f Filter) Filter { _ = scope(citybrain.ActorFrom(ctx), &f); return f }
	if st.Open, err = s.repo.CountOrders(ctx, scoped(Filter{Open: &open})); err != nil {
		return st, err
	}
	if st.Overdue, err = s.repo.CountOrders(ctx, scoped(Filter{Overdue: true, Now: s.clock.Now()})); err != nil {
		return st, err
	}
	if st.Triage, err = s.repo.CountOrders(ctx, scoped(Filter{States: []State{StateTriage}})); err != nil {
		return st, err
	}
	return st, nil
}

// AvailableActions returns the moves the actor in ctx may make on o now (for UIs).
func (s *Service) AvailableActions(ctx context.Context, o *Order) []Action {
	a := citybrain.ActorFrom(ctx)
	if a == nil {
		return []Action{}
	}
	seen := map[Action]bool{}
	out := []Action{}
	for _, role := range s.rolesFor(a, o) {
		for _, act := range s.life.Available(o.State, role) {
			if act == ActMergeReporter || act == ActNeedTriage || seen[act] {
				continue
			}
			seen[act] = true
			out = append(out, act)
		}
	}
	return out
}
