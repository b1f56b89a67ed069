package governance

import (
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/citybrain/citybrain"
)

// RequestState is the state of a sharing request (共享申请).
type RequestState string

// The request states. pending → approved | refused | escalated; escalated → approved |
// refused; pending or escalated → withdrawn by the requester.
const (
	RequestPending   RequestState = "pending"   // 待审核
	RequestApproved  RequestState = "approved"  // 已同意 (a grant exists)
	RequestRefused   RequestState = "refused"   // 已拒绝 (with reason)
	RequestEscalated RequestState = "escalated" // 已升级 (to the data administrator, e.g. after the answer deadline)
	RequestWithdrawn RequestState = "withdrawn" // 已撤回
)

// ShareRequest is a department's request to read a dataset (or some columns of it) for a
// stated purpose and period.
type ShareRequest struct {
	ID             int64        `json:"id"`
	Dataset        string       `json:"dataset"`
	Owner          string       `json:"owner"` // owning department, copied at request time
	Columns        []string     `json:"columns,omitempty"`
	Level          Decision     `json:"level"` // requested level
	Purpose        string       `json:"purpose"`
	Days           int          `json:"days"`      // requested period in days
	Requester      string       `json:"requester"` // requesting department
	RequesterUser  int64        `json:"requester_user"`
	State          RequestState `json:"state"`
	CreatedAt      time.Time    `json:"created_at"`
	ReviewDue      time.Time    `json:"review_due"` // 审核期限 (default 2 working days)
	AnswerDue      time.Time    `json:"answer_due"` // 答复期限 (default 5 working days)
	DecidedAt      time.Time    `json:"decided_at,omitzero"`
	DecidedBy      int64        `json:"decided_by,omitempty"`
	Reason         string       `json:"reason,omitempty"` // refusal reason or approval note
	GrantID        int64        `json:"grant_id,omitempty"`
	EscalatedAt    time.Time    `json:"escalated_at,omitzero"`
	EscalationNote string       `json:"escalation_note,omitempty"`
}

// RequestInput is what a requester sends.
type RequestInput struct {
	Dataset string   `json:"dataset"`
	Columns []string `json:"columns,omitempty"`
	Level   string   `json:"level"` // FULL, MASKED, AGGREGATE_ONLY
	Purpose string   `json:"purpose"`
	Days    int      `json:"days"`
}

// Decision input limits.
const (
	MaxGrantDays   = 366
	MaxPurposeRune = 500
)

// Deadlines configures review and answer deadlines in working days.
type Deadlines struct {
	ReviewDays int `json:"review_days"` // default 2
	AnswerDays int `json:"answer_days"` // default 5
	// AddWorkingDays adds n working days to t; nil skips Saturdays and Sundays only.
	AddWorkingDays func(t time.Time, n int) time.Time `json:"-"`
}

// DefaultDeadlines returns 2 working days to review and 5 to answer (as in Shanxi's
// government data-sharing rules).
func DefaultDeadlines() Deadlines { return Deadlines{ReviewDays: 2, AnswerDays: 5} }

func (d Deadlines) add(t time.Time, n int) time.Time {
	if d.AddWorkingDays != nil {
		return d.AddWorkingDays(t, n)
	}
	for n > 0 {
		t = t.AddDate(0, 0, 1)
		if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return t
}

// NewShareRequest validates the input against the dataset and returns a pending request.
func NewShareRequest(in RequestInput, ds *Dataset, requester string, user int64, now time.Time, dl Deadlines) (*ShareRequest, error) {
	if requester == "" {
		return nil, citybrain.Errorf(citybrain.EFORBIDDEN, "只有部门人员可以申请共享 only department staff can request data")
	}
	if requester == ds.Owner {
		return nil, citybrain.Errorf(citybrain.ECONFLICT, "本部门数据无需申请 your department owns this dataset")
	}
	if ds.Sharing == ShareNone {
		return nil, citybrain.Errorf(citybrain.ECONFLICT, "该数据集不予共享：%s (dataset is not shared)", ds.SharingReason)
	}
	lvl, err := ParseDecision(in.Level)
	if err != nil {
		return nil, err
	}
	if lvl == Deny {
		return nil, citybrain.FieldError("level", "申请级别须为 FULL/MASKED/AGGREGATE_ONLY")
	}
	purpose := strings.TrimSpace(in.Purpose)
	if purpose == "" {
		return nil, citybrain.FieldError("purpose", "须说明用途 a purpose is required")
	}
	if utf8.RuneCountInString(purpose) > MaxPurposeRune {
		return nil, citybrain.FieldError("purpose", "用途说明过长 purpose longer than %d characters", MaxPurposeRune)
	}
	if in.Days < 1 || in.Days > MaxGrantDays {
		return nil, citybrain.FieldError("days", "期限须为1到%d天 days must be 1..%d", MaxGrantDays, MaxGrantDays)
	}
	cols, err := checkColumns(ds, in.Columns)
	if err != nil {
		return nil, err
	}
	if dl.ReviewDays == 0 && dl.AnswerDays == 0 {
		dl = DefaultDeadlines()
	}
	return &ShareRequest{Dataset: ds.Name, Owner: ds.Owner, Columns: cols, Level: lvl, Purpose: purpose, Days: in.Days,
		Requester: requester, RequesterUser: user, State: RequestPending, CreatedAt: now,
		ReviewDue: dl.add(now, dl.ReviewDays), AnswerDue: dl.add(now, dl.AnswerDays)}, nil
}

func checkColumns(ds *Dataset, cols []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, c := range cols {
		c = strings.TrimSpace(c)
		if c == "" || seen[c] {
			continue
		}
		if ds.Column(c) == nil {
			return nil, citybrain.FieldError("columns", "数据集没有列 %q (no such column)", c)
		}
		seen[c] = true
		out = append(out, c)
	}
	sort.Strings(out)
	return out, nil
}

// Open reports whether the request still awaits an answer.
func (r *ShareRequest) Open() bool { return r.State == RequestPending || r.State == RequestEscalated }

// ApproveInput is the owner's approval, possibly narrower than the request: a lower
// level, fewer columns, fewer days.
type ApproveInput struct {
	Level   string   `json:"level,omitempty"`   // "" = as requested
	Columns []string `json:"columns,omitempty"` // empty = as requested
	Days    int      `json:"days,omitempty"`    // 0 = as requested
	Note    string   `json:"note,omitempty"`
}

// Approve moves an open request to approved and returns the grant to store. It refuses
// anything wider than the request.
func (r *ShareRequest) Approve(in ApproveInput, ds *Dataset, by int64, now time.Time) (*Grant, error) {
	if !r.Open() {
		return nil, citybrain.Errorf(citybrain.ECONFLICT, "申请已处理 request is %s", r.State)
	}
	lvl := r.Level
	if in.Level != "" {
		l, err := ParseDecision(in.Level)
		if err != nil {
			return nil, err
		}
		if l > r.Level || l == Deny {
			return nil, citybrain.FieldError("level", "批准级别不能高于申请级别 approval cannot exceed the requested level %s", r.Level)
		}
		lvl = l
	}
	cols := r.Columns
	if len(in.Columns) > 0 {
		c, err := checkColumns(ds, in.Columns)
		if err != nil {
			return nil, err
		}
		if len(r.Columns) > 0 {
			for _, x := range c {
				if !inList(r.Columns, x) {
					return nil, citybrain.FieldError("columns", "不能批准未申请的列 %q (column was not requested)", x)
				}
			}
		}
		cols = c
	}
	days := r.Days
	if in.Days != 0 {
		if in.Days < 0 || in.Days > r.Days {
			return nil, citybrain.FieldError("days", "批准期限不能超过申请期限 approval cannot exceed %d days", r.Days)
		}
		days = in.Days
	}
	r.State, r.DecidedAt, r.DecidedBy, r.Reason = RequestApproved, now, by, strings.TrimSpace(in.Note)
	return &Grant{Dataset: r.Dataset, Owner: r.Owner, Columns: cols, Grantee: r.Requester, Level: lvl, Purpose: r.Purpose,
		Start: now, Expires: now.AddDate(0, 0, days), Approver: by, RequestID: r.ID}, nil
}

// Refuse moves an open request to refused; a reason is required (政务数据共享条例).
func (r *ShareRequest) Refuse(reason string, by int64, now time.Time) error {
	if !r.Open() {
		return citybrain.Errorf(citybrain.ECONFLICT, "申请已处理 request is %s", r.State)
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return citybrain.FieldError("reason", "拒绝须说明理由 a refusal needs a reason")
	}
	r.State, r.DecidedAt, r.DecidedBy, r.Reason = RequestRefused, now, by, reason
	return nil
}

// Escalate moves a pending request to escalated (by the owner, or automatically when
// the answer deadline passed).
func (r *ShareRequest) Escalate(note string, now time.Time) error {
	if r.State != RequestPending {
		return citybrain.Errorf(citybrain.ECONFLICT, "只能升级待审核的申请 only pending requests escalate (request is %s)", r.State)
	}
	r.State, r.EscalatedAt, r.EscalationNote = RequestEscalated, now, strings.TrimSpace(note)
	return nil
}

// Withdraw lets the requester take back an open request.
func (r *ShareRequest) Withdraw(now time.Time) error {
	if !r.Open() {
		return citybrain.Errorf(citybrain.ECONFLICT, "申请已处理 request is %s", r.State)
	}
	r.State, r.DecidedAt = RequestWithdrawn, now
	return nil
}

// Overdue reports whether an open request passed its answer deadline at now.
func (r *ShareRequest) Overdue(now time.Time) bool { return r.Open() && now.After(r.AnswerDue) }

// SharingStats are the figures the assessment scores departments on.
type SharingStats struct {
	Department string `json:"department"`
	Received   int    `json:"received"`  // requests for the department's data
	Approved   int    `json:"approved"`  //
	Refused    int    `json:"refused"`   //
	Escalated  int    `json:"escalated"` // currently escalated
	Pending    int    `json:"pending"`   //
	Overdue    int    `json:"overdue"`   // open past the answer deadline, or answered after it
	// AvgResponseHours is the mean time from request to decision over decided requests.
	AvgResponseHours float64 `json:"avg_response_hours"`
	// SharingRate is approved / (approved + refused); 0 when nothing was decided.
	SharingRate float64 `json:"sharing_rate"`
	// OnTimeRate is the share of decided requests answered by the answer deadline.
	OnTimeRate float64 `json:"on_time_rate"`
	Sent       int     `json:"sent"` // requests the department made
}

// ComputeStats summarises requests per owning department (and counts the requests each
// department sent), sorted by department code.
func ComputeStats(reqs []ShareRequest, now time.Time) []SharingStats {
	by := map[string]*SharingStats{}
	get := func(d string) *SharingStats {
		s := by[d]
		if s == nil {
			s = &SharingStats{Department: d}
			by[d] = s
		}
		return s
	}
	hours := map[string]float64{}
	onTime := map[string]int{}
	for i := range reqs {
		r := &reqs[i]
		get(r.Requester).Sent++
		if r.State == RequestWithdrawn {
			continue
		}
		s := get(r.Owner)
		s.Received++
		switch r.State {
		case RequestApproved:
			s.Approved++
		case RequestRefused:
			s.Refused++
		case RequestEscalated:
			s.Escalated++
		case RequestPending:
			s.Pending++
		}
		if r.State == RequestApproved || r.State == RequestRefused {
			hours[r.Owner] += r.DecidedAt.Sub(r.CreatedAt).Hours()
			if !r.DecidedAt.After(r.AnswerDue) {
				onTime[r.Owner]++
			} else {
				s.Overdue++
			}
		} else if r.Overdue(now) {
			s.Overdue++
		}
	}
	out := make([]SharingStats, 0, len(by))
	for d, s := range by {
		if dec := s.Approved + s.Refused; dec > 0 {
			s.AvgResponseHours = hours[d] / float64(dec)
			s.SharingRate = float64(s.Approved) / float64(dec)
			s.OnTimeRate = float64(onTime[d]) / float64(dec)
		}
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Department < out[j].Department })
	return out
}

// ConsentRecord is one change of a household's consent for a purpose; the history is
// append-only and the latest record per (household, purpose) is in force.
type ConsentRecord struct {
	ID        int64         `json:"id"`
	Household string        `json:"household"`
	Purpose   string        `json:"purpose"`
	Status    ConsentStatus `json:"-"`
	State     string        `json:"status"` // granted or withdrawn
	Note      string        `json:"note,omitempty"`
	By        int64         `json:"by"`
	At        time.Time     `json:"at"`
}

// ParseConsent accepts granted/withdrawn (and 同意/撤回).
func ParseConsent(s string) (ConsentStatus, error) {
	switch strings.TrimSpace(s) {
	case "granted", "同意", "已同意":
		return ConsentGranted, nil
	case "withdrawn", "撤回", "已撤回":
		return ConsentWithdrawn, nil
	}
	return ConsentUnknown, citybrain.FieldError("status", "须为 granted 或 withdrawn, not %q", s)
}
