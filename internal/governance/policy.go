package governance

import (
	"strings"
	"time"

	"github.com/citybrain/citybrain"
)

// Decision is the most a reader may see of an attribute. Decisions are ordered from
// the most restrictive (Deny) to the least (Full); combining takes the minimum.
type Decision uint8

// The four decisions.
const (
	Deny          Decision = iota // DENY: the attribute is removed
	AggregateOnly                 // AGGREGATE_ONLY: only k-suppressed counts, sums, averages
	Masked                        // MASKED: row-level, masked or pseudonymised
	Full                          // FULL: the value as stored
)

// String returns DENY, AGGREGATE_ONLY, MASKED or FULL.
func (d Decision) String() string {
	switch d {
	case Full:
		return "FULL"
	case Masked:
		return "MASKED"
	case AggregateOnly:
		return "AGGREGATE_ONLY"
	}
	return "DENY"
}

// ZH returns the Chinese name of the decision.
func (d Decision) ZH() string {
	switch d {
	case Full:
		return "完整可见"
	case Masked:
		return "脱敏可见"
	case AggregateOnly:
		return "仅统计"
	}
	return "拒绝"
}

// MarshalText encodes the decision as its name.
func (d Decision) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText decodes FULL, MASKED, AGGREGATE_ONLY or DENY (case-insensitive).
func (d *Decision) UnmarshalText(b []byte) error {
	x, err := ParseDecision(string(b))
	if err != nil {
		return err
	}
	*d = x
	return nil
}

// ParseDecision decodes FULL, MASKED, AGGREGATE_ONLY or DENY (case-insensitive).
func ParseDecision(s string) (Decision, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "FULL":
		return Full, nil
	case "MASKED":
		return Masked, nil
	case "AGGREGATE_ONLY", "AGGREGATE":
		return AggregateOnly, nil
	case "DENY":
		return Deny, nil
	}
	return Deny, citybrain.FieldError("level", "须为 FULL/MASKED/AGGREGATE_ONLY/DENY, not %q", s)
}

// Reader is who reads: a user, or the model endpoint (IsModel) acting as a reader with
// its own clearance.
type Reader struct {
	UserID     int64  `json:"user_id"`
	Role       string `json:"role"`
	Department string `json:"department"`
	// Clearance is 1..5 (一般1..一般4, 5 = 重要/核心); 0 means "not set" and takes the
	// role's default (see DefaultClearance).
	Clearance int    `json:"clearance"`
	Purpose   string `json:"purpose"`
	IsModel   bool   `json:"is_model"`
}

// ReaderFromActor converts the acting user of a request into a Reader.
func ReaderFromActor(a *citybrain.Actor) Reader {
	if a == nil {
		return Reader{Role: RoleAnonymous}
	}
	dept := a.Department
	if dept == "" && a.Area != "" && (a.Role == citybrain.RoleWorker || a.Role == citybrain.RoleDept) {
		dept = StreetOffice
	}
	return Reader{UserID: a.UserID, Role: a.Role, Department: dept, Clearance: a.Clearance, Purpose: a.Purpose}
}

// StreetOffice is the department street, community and grid workers (users with an area
// and no department) read as: grants to 街道办事处 reach them.
const StreetOffice = "STREET_OFFICE"

// RoleModel is the role of the external AI model endpoint reader; RoleAnonymous the
// role of a request without an actor.
const (
	RoleModel     = "model"
	RoleAnonymous = "anonymous"
)

// DefaultClearance returns the clearance a role has when none was set for the user:
// admin 4, operator and dept 3, worker 2, auditor 2, model 2, everyone else 1.
func DefaultClearance(role string) int {
	switch role {
	case citybrain.RoleAdmin:
		return 4
	case citybrain.RoleOperator, citybrain.RoleDept:
		return 3
	case citybrain.RoleWorker, citybrain.RoleAuditor, RoleModel:
		return 2
	}
	return 1
}

// EffectiveClearance returns the reader's clearance, or the role default when unset.
func (r Reader) EffectiveClearance() int {
	if r.Clearance > 0 {
		return r.Clearance
	}
	return DefaultClearance(r.Role)
}

// ConsentStatus is a household's consent for one purpose.
type ConsentStatus uint8

// The consent states.
const (
	ConsentUnknown   ConsentStatus = iota // nothing recorded
	ConsentGranted                        // 已同意
	ConsentWithdrawn                      // 已撤回
)

// String returns unknown, granted or withdrawn.
func (c ConsentStatus) String() string {
	switch c {
	case ConsentGranted:
		return "granted"
	case ConsentWithdrawn:
		return "withdrawn"
	}
	return "unknown"
}

// Attribute is one column of one dataset as a decision sees it.
type Attribute struct {
	Dataset  string   `json:"dataset"`
	Column   string   `json:"column"`
	Grade    Grade    `json:"grade"`
	Category Category `json:"category"`
	PIKind   PIKind   `json:"pi_kind,omitempty"`
	Owner    string   `json:"owner"`
	Sharing  Sharing  `json:"sharing"`
	// HomeDevice marks data from a resident's home; Consent is that household's consent
	// for the reader's purpose.
	HomeDevice bool          `json:"home_device,omitempty"`
	Consent    ConsentStatus `json:"consent,omitempty"`
}

// AttributeOf returns the attribute of a dataset's column.
func AttributeOf(d *Dataset, c *Column) Attribute {
	return Attribute{Dataset: d.Name, Column: c.Name, Grade: c.Grade, Category: c.Category, PIKind: c.PIKind,
		Owner: d.Owner, Sharing: d.Sharing, HomeDevice: d.HomeDevice}
}

// Tri is a three-valued match condition: any, must hold, must not hold.
type Tri uint8

// The Tri values.
const (
	Any Tri = iota
	Yes
	No
)

func (t Tri) ok(v bool) bool { return t == Any || (t == Yes) == v }

// Match selects readers and attributes. Empty lists and zero values match anything;
// every non-empty condition must hold.
type Match struct {
	Roles       []string   `json:"roles,omitempty"`
	Departments []string   `json:"departments,omitempty"`
	Purposes    []string   `json:"purposes,omitempty"`
	Datasets    []string   `json:"datasets,omitempty"`
	Columns     []string   `json:"columns,omitempty"`
	Categories  []Category `json:"categories,omitempty"`
	Sharing     []Sharing  `json:"sharing,omitempty"`
	// MinGrade and MaxGrade bound the attribute's effective grade (0 = unbounded).
	MinGrade Grade `json:"min_grade,omitempty"`
	MaxGrade Grade `json:"max_grade,omitempty"`
	// Owner: the reader's department owns the dataset.
	Owner Tri `json:"owner,omitempty"`
	// Model: the reader is the AI model endpoint.
	Model Tri `json:"model,omitempty"`
	// AboveClearance: the attribute needs more clearance than the reader has.
	AboveClearance Tri `json:"above_clearance,omitempty"`
	// Personal: the attribute's category is personal information.
	Personal Tri `json:"personal,omitempty"`
	// Maskable: the attribute has a PI kind, so a masked form exists.
	Maskable Tri `json:"maskable,omitempty"`
	// HomeDevice: the attribute comes from residents' homes.
	HomeDevice Tri `json:"home_device,omitempty"`
}

func inList(xs []string, v string) bool {
	if len(xs) == 0 {
		return true
	}
	for _, x := range xs {
		if x == v {
			return true
		}
	}
	return false
}

// Matches reports whether the match selects the reader and attribute. Conditions are
// checked cheapest and most selective first; unset ones cost nothing.
func (m *Match) Matches(r *Reader, a *Attribute) bool {
	g := a.Grade.Effective()
	if m.MinGrade != 0 && g < m.MinGrade || m.MaxGrade != 0 && g > m.MaxGrade {
		return false
	}
	if len(m.Roles) > 0 && !inList(m.Roles, r.Role) {
		return false
	}
	if m.Owner != Any && !m.Owner.ok(r.Department != "" && r.Department == a.Owner) {
		return false
	}
	if m.Model != Any && !m.Model.ok(r.IsModel) {
		return false
	}
	if len(m.Sharing) > 0 {
		found := false
		for _, s := range m.Sharing {
			if s == a.Sharing {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if m.AboveClearance != Any && !m.AboveClearance.ok(g.Clearance() > r.EffectiveClearance()) ||
		m.Personal != Any && !m.Personal.ok(a.Category.Personal()) ||
		m.Maskable != Any && !m.Maskable.ok(a.PIKind != PINone) ||
		m.HomeDevice != Any && !m.HomeDevice.ok(a.HomeDevice) {
		return false
	}
	if len(m.Datasets) > 0 && !inList(m.Datasets, a.Dataset) || len(m.Columns) > 0 && !inList(m.Columns, a.Column) ||
		len(m.Departments) > 0 && !inList(m.Departments, r.Department) || len(m.Purposes) > 0 && !inList(m.Purposes, r.Purpose) {
		return false
	}
	if len(m.Categories) > 0 {
		for _, c := range m.Categories {
			if c == a.Category {
				return true
			}
		}
		return false
	}
	return true
}

// Rule is one policy statement: when Match selects the reader and attribute, Effect
// applies. How effects combine depends on the list the rule is in (see Policy).
type Rule struct {
	ID     string   `json:"id"`
	Match  Match    `json:"match"`
	Effect Decision `json:"effect"`
	// Note says why the rule exists, in Chinese and English.
	Note string `json:"note,omitempty"`
}

// Grant is an approved sharing grant: the grantee department may read the columns of a
// dataset up to Level, for the purpose, from Start until Expires.
type Grant struct {
	ID       int64     `json:"id"`
	Dataset  string    `json:"dataset"`
	Columns  []string  `json:"columns,omitempty"` // empty: all columns
	Grantee  string    `json:"grantee"`           // department code
	Owner    string    `json:"owner,omitempty"`   // owning department of the dataset
	Level    Decision  `json:"level"`
	Purpose  string    `json:"purpose,omitempty"`
	Start    time.Time `json:"start"`
	Expires  time.Time `json:"expires"`
	Revoked  bool      `json:"revoked,omitempty"`
	Approver int64     `json:"approver,omitempty"`
	// RequestID is the sharing request the grant answers (0 for grants made directly).
	RequestID    int64     `json:"request_id,omitempty"`
	RevokedAt    time.Time `json:"revoked_at,omitzero"`
	RevokedBy    int64     `json:"revoked_by,omitempty"`
	RevokeReason string    `json:"revoke_reason,omitempty"`
}

// Active reports whether the grant is in force at now.
func (g *Grant) Active(now time.Time) bool {
	return !g.Revoked && !now.Before(g.Start) && now.Before(g.Expires)
}

// Covers reports whether the grant applies to the reader and attribute at now. A grant
// bound to a purpose covers a reader who states no purpose (the grant's purpose is
// assumed and audited) but not one who states another.
func (g *Grant) Covers(r *Reader, a *Attribute, now time.Time) bool {
	if g.Dataset != a.Dataset || r.Department == "" || g.Grantee != r.Department || !g.Active(now) {
		return false
	}
	if g.Purpose != "" && r.Purpose != "" && g.Purpose != r.Purpose {
		return false
	}
	return inList(g.Columns, a.Column)
}

// Policy is the decision policy, as data. Permits are the sources of access (ownership,
// the sharing attribute and grade baseline); Rules are restrictions. A decision is
//
//	min( max(effects of matching Permits and covering Grants; DENY if none),
//	     min(effects of matching Rules; FULL if none),
//	     consent cap )
//
// so the default is DENY, a DENY rule always wins (nothing can lift it, not even a
// grant), and when several rules match the most restrictive wins. Because rules only
// ever enter a minimum, adding a rule can never widen access (TestAddingRuleNeverWidens
// checks this over random policies). Access is widened only by a permit or an approved
// grant, which is what sharing means.
type Policy struct {
	Permits []Rule `json:"permits"`
	Rules   []Rule `json:"rules"`
	// ConsentUnknownCap caps home-device data for households without recorded consent.
	ConsentUnknownCap Decision `json:"consent_unknown_cap"`
}

// Inputs are the facts a decision depends on beyond the policy.
type Inputs struct {
	Now    time.Time
	Grants []Grant
}

// Explanation says which statements decided, for the audit log.
type Explanation struct {
	Decision Decision `json:"decision"`
	Permit   string   `json:"permit,omitempty"`   // the permit that gave the base access
	GrantID  int64    `json:"grant_id,omitempty"` // the grant that gave it, if any
	Rule     string   `json:"rule,omitempty"`     // the most restrictive rule, if it lowered access
	Consent  string   `json:"consent,omitempty"`  // "withdrawn" or "unknown" when consent lowered it
}

// Decide returns the decision for the reader and attribute.
func (p *Policy) Decide(r Reader, a Attribute, in Inputs) Decision {
	return p.decide(&r, &a, &in, nil)
}

// Explain returns the decision with the statements that made it.
func (p *Policy) Explain(r Reader, a Attribute, in Inputs) Explanation {
	var e Explanation
	e.Decision = p.decide(&r, &a, &in, &e)
	return e
}

func (p *Policy) decide(r *Reader, a *Attribute, in *Inputs, e *Explanation) Decision {
	if a.HomeDevice && a.Consent == ConsentWithdrawn {
		if e != nil {
			e.Consent = "withdrawn"
		}
		return Deny
	}
	base := Deny
	for i := range p.Permits {
		pr := &p.Permits[i]
		if pr.Effect > base && pr.Match.Matches(r, a) {
			base = pr.Effect
			if e != nil {
				e.Permit = pr.ID
			}
			if base == Full {
				break
			}
		}
	}
	for i := range in.Grants {
		g := &in.Grants[i]
		if g.Level > base && g.Covers(r, a, in.Now) {
			base = g.Level
			if e != nil {
				e.Permit, e.GrantID = "", g.ID
			}
		}
	}
	if base == Deny {
		return Deny
	}
	out := base
	for i := range p.Rules {
		rl := &p.Rules[i]
		if rl.Effect < out && rl.Match.Matches(r, a) {
			out = rl.Effect
			if e != nil {
				e.Rule = rl.ID
			}
			if out == Deny {
				return Deny
			}
		}
	}
	if a.HomeDevice && a.Consent == ConsentUnknown && p.ConsentUnknownCap < out {
		out = p.ConsentUnknownCap
		if e != nil {
			e.Consent = "unknown"
		}
	}
	return out
}

// Validate checks a policy for mistakes a client can make when editing it.
func (p *Policy) Validate() error {
	seen := map[string]bool{}
	for _, list := range [][]Rule{p.Permits, p.Rules} {
		for _, r := range list {
			if r.ID == "" {
				return citybrain.FieldError("id", "规则须有编号 every rule needs an id")
			}
			if seen[r.ID] {
				return citybrain.FieldError("id", "规则编号重复 duplicate rule id %q", r.ID)
			}
			seen[r.ID] = true
			if r.Effect > Full {
				return citybrain.FieldError("effect", "规则 %q 的效果无效 invalid effect", r.ID)
			}
		}
	}
	return nil
}
