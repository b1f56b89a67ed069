package workorder

import (
	"testing"

	"github.com/citybrain/citybrain"
)

var allRoles = []string{citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleDept, citybrain.RoleWorker,
	citybrain.RoleAuditor, citybrain.RoleCitizen, citybrain.RoleDevice, RoleSystem, RoleReporter}

// Every row of the table is allowed for its roles and forbidden for every other role.
func TestLifecycleEveryTransition(t *testing.T) {
	l := NewLifecycle()
	for _, tr := range Transitions() {
		allowed := map[string]bool{}
		for _, r := range l.rows[tr.From][tr.Action].Roles {
			allowed[r] = true
		}
		for _, role := range allRoles {
			t.Run(string(tr.From)+"/"+string(tr.Action)+"/"+role, func(t *testing.T) {
				to, err := l.Next(tr.From, tr.Action, role)
				if allowed[role] {
					if err != nil || to != tr.To {
						t.Fatalf("Next = %q, %v; want %q", to, err, tr.To)
					}
					return
				}
				if citybrain.ErrorCode(err) != citybrain.EFORBIDDEN {
					t.Fatalf("role %s: err = %v, want forbidden", role, err)
				}
			})
		}
	}
}

func TestLifecycleForbiddenMoves(t *testing.T) {
	l := NewLifecycle()
	tests := []struct {
		from   State
		action Action
		role   string
		code   string
	}{
		{StateAccepted, ActAcknowledge, citybrain.RoleDept, citybrain.ECONFLICT}, // nothing to sign for yet
		{StateDispatched, ActFeedback, citybrain.RoleDept, citybrain.ECONFLICT},  // must acknowledge first
		{StateDispatched, ActVerify, citybrain.RoleWorker, citybrain.ECONFLICT},  // nothing to verify
		{StateResponded, ActClose, citybrain.RoleOperator, citybrain.ECONFLICT},  // verify first
		{StateClosed, ActDispatch, citybrain.RoleOperator, citybrain.ECONFLICT},  // closed
		{StateRated, ActRate, RoleReporter, citybrain.ECONFLICT},                 // rate once
		{StateAccepted, ActRate, RoleReporter, citybrain.ECONFLICT},              // not closed yet
		{StateResponded, ActRequestExtension, citybrain.RoleDept, citybrain.ECONFLICT},
		{StateClosed, ActRemind, RoleSystem, citybrain.ECONFLICT},
		{StateAcknowledged, ActFeedback, citybrain.RoleWorker, citybrain.EFORBIDDEN}, // only the unit reports
		{StateResponded, ActVerify, citybrain.RoleDept, citybrain.EFORBIDDEN},        // a unit cannot verify itself
		{StateReturned, ActReassign, citybrain.RoleDept, citybrain.EFORBIDDEN},       // reviewer only
		{StateTriage, ActDispatch, RoleSystem, citybrain.EFORBIDDEN},                 // a human decides
		{StateAcknowledged, ActApproveExtension, citybrain.RoleDept, citybrain.EFORBIDDEN},
		{StateDispatched, ActCancel, RoleReporter, citybrain.EFORBIDDEN}, // too late for the citizen
		{StateClosed, ActRate, citybrain.RoleDept, citybrain.EFORBIDDEN},
		{StateClosed, ActReopen, citybrain.RoleDept, citybrain.EFORBIDDEN},
		{StateVerified, ActClose, citybrain.RoleCitizen, citybrain.EFORBIDDEN},
		{StateAccepted, ActDispatch, citybrain.RoleAuditor, citybrain.EFORBIDDEN},
	}
	for _, tc := range tests {
		t.Run(string(tc.from)+"/"+string(tc.action)+"/"+tc.role, func(t *testing.T) {
			_, err := l.Next(tc.from, tc.action, tc.role)
			if got := citybrain.ErrorCode(err); got != tc.code {
				t.Fatalf("code = %q (%v), want %q", got, err, tc.code)
			}
		})
	}
}

func TestLifecycleTableSane(t *testing.T) {
	for _, tr := range Transitions() {
		if !tr.From.Valid() || !tr.To.Valid() {
			t.Errorf("row %v uses an unknown state", tr)
		}
		if len(tr.Roles) == 0 || tr.NameZh == "" {
			t.Errorf("row %v has no roles or name", tr)
		}
	}
	// Every open state can be left; the closed states can be left only by reopening.
	l := NewLifecycle()
	for _, si := range States() {
		if len(l.rows[si.State]) == 0 {
			t.Errorf("state %s has no moves", si.State)
		}
		if si.Open != si.State.IsOpen() {
			t.Errorf("state %s: Open mismatch", si.State)
		}
	}
	if len(Actions()) < 20 {
		t.Errorf("Actions() = %d, want ≥ 20", len(Actions()))
	}
}
