// Package citybrain is the shared vocabulary of the platform: the error type with a
// machine-readable code and a human message, the acting user carried in a context,
// and the clock. It imports nothing from the rest of the project and holds no state.
package citybrain

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Error codes a machine can switch on. The HTTP layer maps each to one status in one place.
const (
	EINVALID      = "invalid"       // the request is malformed or a value is out of range (400)
	EUNAUTHORIZED = "unauthorized"  // no or wrong credentials (401)
	EFORBIDDEN    = "forbidden"     // authenticated but not allowed (403)
	ENOTFOUND     = "not_found"     // the thing does not exist (404)
	ECONFLICT     = "conflict"      // the thing exists already or the state forbids the move (409)
	ETOOLARGE     = "too_large"     // body or message over the configured limit (413)
	ETOOMANY      = "too_many"      // throttled or backpressure (429)
	EUNAVAILABLE  = "unavailable"   // a dependency is down (503)
	EINTERNAL     = "internal"      // a bug or an unexpected failure (500)
	EUNSUPPORTED  = "unsupported"   // unsupported media type or format (415)
	EGONE         = "gone"          // the thing existed but expired or was revoked (410)
	EDENIED       = "policy_denied" // the data-governance decision refused the read (403)
)

// Error is the one error type of the platform: Code for machines, Message for people.
type Error struct {
	Code    string
	Message string
	// Field optionally names the input field that is wrong.
	Field string
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("citybrain: %s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("citybrain: %s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EINVALID error that names the field to fix.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other
// non-nil error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of the first *Error in err's chain, or a
// generic message for other errors so internals never leak to clients.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorField returns the field named by the first *Error in err's chain.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// Role names. Every user has exactly one role.
const (
	RoleAdmin    = "admin"    // 管理员: everything, including users and configuration
	RoleOperator = "operator" // 指挥中心值班员: command center, alerts, dispatch
	RoleDept     = "dept"     // 部门工作人员: department staff handling work orders
	RoleWorker   = "worker"   // 街道/社区/网格员: street, community and grid workers
	RoleAuditor  = "auditor"  // 审计员: reads the audit log
	RoleCitizen  = "citizen"  // 市民: reports and follows their own cases
	RoleDevice   = "device"   // a device acting with its own credentials
)

// Roles lists the human roles in order of breadth.
func Roles() []string {
	return []string{RoleAdmin, RoleOperator, RoleDept, RoleWorker, RoleAuditor, RoleCitizen}
}

// ValidRole reports whether r names a human role.
func ValidRole(r string) bool {
	for _, x := range Roles() {
		if x == r {
			return true
		}
	}
	return false
}

// Actor is who is acting: a user, a token's user or a device.
type Actor struct {
	UserID     int64  `json:"user_id,omitempty"`
	Username   string `json:"username,omitempty"`
	Role       string `json:"role"`
	Department string `json:"department,omitempty"` // department code, "" when the user belongs to an area
	Area       string `json:"area,omitempty"`       // area code, "" when the user belongs to a department
	Clearance  int    `json:"clearance"`            // data clearance level 1..5 (一般1..一般4, 5 = 重要/核心)
	DeviceID   string `json:"device_id,omitempty"`  // set when a device acts
	Purpose    string `json:"purpose,omitempty"`    // the stated purpose of the current read, if any
}

// Is reports whether the actor has one of the roles.
func (a *Actor) Is(roles ...string) bool {
	if a == nil {
		return false
	}
	for _, r := range roles {
		if a.Role == r {
			return true
		}
	}
	return false
}

type actorKey struct{}

// WithActor returns a context carrying the actor.
func WithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx, or nil for an anonymous request.
func ActorFrom(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}

// Clock tells the time; tests pass a fixed or stepping clock.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// FixedClock is a settable clock for tests and simulations.
type FixedClock struct{ T time.Time }

// Now returns the set time.
func (c *FixedClock) Now() time.Time { return c.T }
