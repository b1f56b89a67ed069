package workorder

import (
	"sort"

	"github.com/citybrain/citybrain"
)

// State is a work order's lifecycle state, as 12345 hotlines and 数字城管 run them.
type State string

// States. An order is created in StateAccepted and moves by Actions through the table
// returned by Transitions.
const (
	StateAccepted     State = "accepted"     // 受理: report validated, not yet dispatched
	StateTriage       State = "triage"       // 待分拨: the assistant is unsure; a person must choose
	StateDispatched   State = "dispatched"   // 派单: assigned to a lead unit (+ assisting units)
	StateReturned     State = "returned"     // 退单: the unit disputes ownership; awaiting 改派 review
	StateAcknowledged State = "acknowledged" // 签收: the unit accepted the order
	StateInProgress   State = "in_progress"  // 处置: work under way
	StateResponded    State = "responded"    // 反馈: the unit reported the result; awaiting 核查
	StateVerified     State = "verified"     // 核查: a grid worker confirmed the result on site
	StateClosed       State = "closed"       // 办结: closed (fixed, duplicate, not responsible, cancelled)
	StateRated        State = "rated"        // 回访: the citizen rated the outcome
)

// StateInfo describes a state for people and for Open311.
type StateInfo struct {
	State  State  `json:"state"`
	NameZh string `json:"name_zh"`
	NameEn string `json:"name_en"`
	// Open is true while the order needs work; Open311 status "open" or "closed".
	Open bool `json:"open"`
}

// States returns every state in lifecycle order.
func States() []StateInfo {
	return []StateInfo{
		{StateAccepted, "受理", "Accepted", true},
		{StateTriage, "待分拨", "Needs triage", true},
		{StateDispatched, "派单", "Dispatched", true},
		{StateReturned, "退单", "Returned by unit", true},
		{StateAcknowledged, "签收", "Acknowledged", true},
		{StateInProgress, "处置", "In progress", true},
		{StateResponded, "反馈", "Result reported", true},
		{StateVerified, "核查", "Verified", true},
		{StateClosed, "办结", "Closed", false},
		{StateRated, "回访", "Rated", false},
	}
}

// IsOpen reports whether an order in state s still needs work.
func (s State) IsOpen() bool { return s != StateClosed && s != StateRated }

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	for _, i := range States() {
		if i.State == s {
			return true
		}
	}
	return false
}

// Action is a move in the lifecycle.
type Action string

// Actions. Create is the implicit first move; the others are POSTed by people or the system.
const (
	ActCreate            Action = "create"                // 受理 the report
	ActNeedTriage        Action = "need_triage"           // 转人工分拨 (system, assistant unsure)
	ActDispatch          Action = "dispatch"              // 派单 to a lead unit (+ assisting units)
	ActAcknowledge       Action = "acknowledge"           // 签收
	ActDispute           Action = "dispute"               // 退单: the unit says it is not theirs
	ActReassign          Action = "reassign"              // 改派: a reviewer sends it to another (or the same) unit
	ActStart             Action = "start"                 // 开始处置
	ActRequestExtension  Action = "request_extension"     // 申请延期 (before the deadline)
	ActApproveExtension  Action = "approve_extension"     // 批准延期
	ActRefuseExtension   Action = "refuse_extension"      // 驳回延期
	ActFeedback          Action = "feedback"              // 反馈 the result
	ActVerify            Action = "verify"                // 核查通过
	ActRework            Action = "rework"                // 返工: verification failed
	ActClose             Action = "close"                 // 办结
	ActRate              Action = "rate"                  // 回访评价
	ActReopen            Action = "reopen"                // 重办: the citizen is not satisfied
	ActCloseDuplicate    Action = "close_duplicate"       // 并单/重复件 closed into another order
	ActCloseNotResponsib Action = "close_not_responsible" // 非职责范围 closed
	ActCancel            Action = "cancel"                // 撤销
	ActNote              Action = "note"                  // 备注 (no state change)
	ActRemind            Action = "remind"                // 催办 (system or operator)
	ActEscalate          Action = "escalate"              // 督办 (system or operator)
	ActMergeReporter     Action = "merge_reporter"        // 并单: another report joined this order
)

// RoleSystem is the pseudo-role of moves the platform makes by itself (deadline jobs,
// the assistant's routing).
const RoleSystem = "system"

// RoleReporter is the pseudo-role of the citizen who filed the report, proven by the
// tracking number and its secret token (or by being the reporting user).
const RoleReporter = "reporter"

// Transition is one row of the lifecycle table. Roles are citybrain roles plus RoleSystem
// and RoleReporter. A dept actor must belong to the order's lead unit; a worker must belong
// to the order's grid, community or street (see Service.scopeOK).
type Transition struct {
	From   State    `json:"from"`
	Action Action   `json:"action"`
	To     State    `json:"to"`
	Roles  []string `json:"roles"`
	NameZh string   `json:"name_zh"`
}

var openStates = []State{StateAccepted, StateTriage, StateDispatched, StateReturned, StateAcknowledged, StateInProgress, StateResponded, StateVerified}

// Transitions returns the whole lifecycle table. It is built on each call so nobody can
// mutate a shared copy.
func Transitions() []Transition {
	op := []string{citybrain.RoleOperator, citybrain.RoleAdmin}
	opSys := []string{citybrain.RoleOperator, citybrain.RoleAdmin, RoleSystem}
	dept := []string{citybrain.RoleDept}
	t := []Transition{
		{StateAccepted, ActNeedTriage, StateTriage, []string{RoleSystem, citybrain.RoleOperator, citybrain.RoleAdmin}, "转人工分拨"},
		{StateAccepted, ActDispatch, StateDispatched, opSys, "派单"},
		{StateTriage, ActDispatch, StateDispatched, op, "人工分拨派单"},
		{StateDispatched, ActAcknowledge, StateAcknowledged, dept, "签收"},
		{StateDispatched, ActDispute, StateReturned, dept, "退单"},
		{StateAcknowledged, ActDispute, StateReturned, dept, "退单"},
		{StateReturned, ActReassign, StateDispatched, op, "改派"},
		{StateDispatched, ActReassign, StateDispatched, op, "改派"},
		{StateAcknowledged, ActReassign, StateDispatched, op, "改派"},
		{StateInProgress, ActReassign, StateDispatched, op, "改派"},
		{StateAcknowledged, ActStart, StateInProgress, dept, "开始处置"},
		{StateAcknowledged, ActRequestExtension, StateAcknowledged, dept, "申请延期"},
		{StateInProgress, ActRequestExtension, StateInProgress, dept, "申请延期"},
		{StateAcknowledged, ActApproveExtension, StateAcknowledged, op, "批准延期"},
		{StateInProgress, ActApproveExtension, StateInProgress, op, "批准延期"},
		{StateAcknowledged, ActRefuseExtension, StateAcknowledged, op, "驳回延期"},
		{StateInProgress, ActRefuseExtension, StateInProgress, op, "驳回延期"},
		{StateAcknowledged, ActFeedback, StateResponded, dept, "反馈"},
		{StateInProgress, ActFeedback, StateResponded, dept, "反馈"},
		{StateResponded, ActVerify, StateVerified, []string{citybrain.RoleWorker, citybrain.RoleOperator, citybrain.RoleAdmin}, "核查通过"},
		{StateResponded, ActRework, StateInProgress, []string{citybrain.RoleWorker, citybrain.RoleOperator, citybrain.RoleAdmin}, "返工"},
		{StateVerified, ActClose, StateClosed, []string{citybrain.RoleOperator, citybrain.RoleAdmin, citybrain.RoleWorker}, "办结"},
		{StateClosed, ActRate, StateRated, []string{RoleReporter, citybrain.RoleOperator, citybrain.RoleAdmin}, "回访评价"},
		{StateClosed, ActReopen, StateDispatched, []string{RoleReporter, citybrain.RoleOperator, citybrain.RoleAdmin}, "重办"},
		{StateRated, ActReopen, StateDispatched, []string{RoleReporter, citybrain.RoleOperator, citybrain.RoleAdmin}, "重办"},
	}
	for _, s := range openStates {
		t = append(t,
			Transition{s, ActCloseDuplicate, StateClosed, opSys, "重复件办结"},
			Transition{s, ActCancel, StateClosed, op, "撤销"},
			Transition{s, ActNote, s, []string{citybrain.RoleOperator, citybrain.RoleAdmin, citybrain.RoleDept, citybrain.RoleWorker, RoleReporter}, "备注"},
			Transition{s, ActMergeReporter, s, opSys, "并单"},
		)
	}
	for _, s := range []State{StateAccepted, StateTriage, StateReturned} {
		t = append(t, Transition{s, ActCloseNotResponsib, StateClosed, op, "非职责范围办结"})
	}
	for _, s := range []State{StateAccepted, StateTriage} {
		t = append(t, Transition{s, ActCancel, StateClosed, []string{RoleReporter}, "市民撤销"})
	}
	for _, s := range []State{StateDispatched, StateAcknowledged, StateInProgress} {
		t = append(t,
			Transition{s, ActRemind, s, opSys, "催办"},
			Transition{s, ActEscalate, s, opSys, "督办"},
		)
	}
	return t
}

// Actions returns the distinct actions of the table, sorted.
func Actions() []Action {
	seen := map[Action]bool{}
	var out []Action
	for _, t := range Transitions() {
		if !seen[t.Action] {
			seen[t.Action] = true
			out = append(out, t.Action)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Lifecycle is an index over the transition table. It is immutable and safe for concurrent use.
type Lifecycle struct {
	rows map[State]map[Action]Transition
}

// NewLifecycle indexes Transitions().
func NewLifecycle() *Lifecycle {
	l := &Lifecycle{rows: map[State]map[Action]Transition{}}
	for _, t := range Transitions() {
		m := l.rows[t.From]
		if m == nil {
			m = map[Action]Transition{}
			l.rows[t.From] = m
		}
		if old, ok := m[t.Action]; ok {
			// Rows for the same move are merged; they must agree on the target.
			if old.To != t.To {
				panic("workorder: conflicting transitions for " + string(t.From) + "/" + string(t.Action))
			}
			old.Roles = append(append([]string(nil), old.Roles...), t.Roles...)
			m[t.Action] = old
			continue
		}
		m[t.Action] = t
	}
	return l
}

// Next returns the target state of action in state from, and whether role may make the
// move. It returns ECONFLICT when the move does not exist in that state and EFORBIDDEN when
// the role may not make it.
func (l *Lifecycle) Next(from State, action Action, role string) (State, error) {
	t, ok := l.rows[from][action]
	if !ok {
		return "", citybrain.Errorf(citybrain.ECONFLICT, "当前状态%s不允许操作%s action %s not allowed in state %s", from, action, action, from)
	}
	for _, r := range t.Roles {
		if r == role {
			return t.To, nil
		}
	}
	return "", citybrain.Errorf(citybrain.EFORBIDDEN, "角色%s不能执行%s role %s may not %s", role, action, role, action)
}

// Available returns the actions possible in state from for role.
func (l *Lifecycle) Available(from State, role string) []Action {
	var out []Action
	for a, t := range l.rows[from] {
		for _, r := range t.Roles {
			if r == role {
				out = append(out, a)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
