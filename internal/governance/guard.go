package governance

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/citybrain/citybrain"
)

// Filter is the Guard the HTTP layer calls for every response that carries stored
// data (httpapi.Guard): it looks up the dataset in the catalog, decides every column for
// the acting user (with their department's active grants and, for home-device data,
// each household's consent), masks or drops what the decisions say, and records the
// access in the audit log when data graded 一般3 or above was returned or anything was
// masked or denied. An unknown dataset fails closed with EDENIED; so does a failure to
// record the access.
func (s *Service) Filter(ctx context.Context, actor *citybrain.Actor, dataset string, v any) (any, error) {
	ds, err := s.Dataset(ctx, dataset)
	if err != nil {
		if citybrain.ErrorCode(err) == citybrain.ENOTFOUND {
			return nil, citybrain.Errorf(citybrain.EDENIED, "数据集 %q 未编目，拒绝输出 dataset is not in the catalog", dataset)
		}
		return nil, err
	}
	r := ReaderFromActor(actor)
	now := s.now()
	var deviceConsent *ConsentStatus
	if ds.Name == "telemetry" && s.devices != nil {
		if hds, hh, ok := s.homeDevice(ctx, v); ok {
			m, err := s.repo.CurrentConsent(ctx, []string{hh}, r.Purpose)
			if err != nil {
				return nil, err
			}
			st := m[hh]
			ds, deviceConsent = hds, &st
		}
	}
	var grants []Grant
	if r.Department != "" {
		grants, err = s.repo.ListGrants(ctx, GrantFilter{Grantee: r.Department, Dataset: ds.Name, ActiveAt: now})
		if err != nil {
			return nil, err
		}
	}
	var consent ConsentLookup
	switch {
	case deviceConsent != nil:
		st := *deviceConsent
		consent = func(string, string) ConsentStatus { return st }
	case ds.HomeDevice:
		cache := map[string]ConsentStatus{}
		consent = func(hh, purpose string) ConsentStatus {
			if st, ok := cache[hh]; ok {
				return st
			}
			m, err := s.repo.CurrentConsent(ctx, []string{hh}, purpose)
			if err != nil {
				cache[hh] = ConsentWithdrawn // fail closed
				return ConsentWithdrawn
			}
			cache[hh] = m[hh]
			return m[hh]
		}
	}
	out, sum := s.Enforcer().Filter(r, ds, v, Inputs{Now: now, Grants: grants}, consent)
	if deviceConsent != nil && sum.ConsentDropped > 0 && out == nil {
		_ = s.record(ctx, accessEvent(actor, ds, v, &sum))
		return nil, citybrain.Errorf(citybrain.EDENIED, "住户已撤回对该用途的同意 the household withdrew consent for this purpose")
	}
	if sum.MaxGrade >= GradeGeneral3 || sum.Restricted() {
		if err := s.record(ctx, accessEvent(actor, ds, v, &sum)); err != nil {
			return nil, citybrain.Errorf(citybrain.EUNAVAILABLE, "无法记录审计日志，拒绝输出 the access could not be audited")
		}
	}
	return out, nil
}

// homeDevice recognises a telemetry response about one device of a home profile and
// returns that profile's dataset and the device's household.
func (s *Service) homeDevice(ctx context.Context, v any) (*Dataset, string, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, "", false
	}
	id, _ := m["device_id"].(string)
	if id == "" {
		return nil, "", false
	}
	profile, hh, err := s.devices(ctx, id)
	if err != nil || profile == "" {
		return nil, "", false
	}
	d, ok := s.platform["telemetry."+profile]
	if !ok || !d.HomeDevice {
		return nil, "", false
	}
	c := *d
	return &c, hh, true
}

// accessEvent describes a filtered response for the audit log.
func accessEvent(actor *citybrain.Actor, ds *Dataset, v any, s *Summary) AuditEvent {
	e := AuditEvent{Actor: actor, Dataset: ds.Name, RowCount: int64(s.Rows), Detail: map[string]string{}}
	var masked, denied, agg, full []string
	for _, c := range s.Columns {
		if c.Values == 0 {
			continue
		}
		e.Columns = append(e.Columns, c.Column)
		switch c.Decision {
		case Full:
			full = append(full, c.Column)
		case Masked:
			masked = append(masked, c.Column)
		case AggregateOnly:
			agg = append(agg, c.Column)
		default:
			denied = append(denied, c.Column)
		}
		if c.GrantID != 0 {
			e.Detail["grant:"+c.Column] = strconv.FormatInt(c.GrantID, 10)
		}
		if c.Rule != "" && len(e.Detail) < 56 {
			e.Detail["rule:"+c.Column] = c.Rule
		}
	}
	put := func(k string, xs []string) {
		if len(xs) > 0 {
			e.Detail[k] = strings.Join(xs, ",")
		}
	}
	put("full", full)
	put("masked", masked)
	put("aggregate_only", agg)
	put("denied", denied)
	put("unclassified", s.Unclassified)
	if s.ConsentDropped > 0 {
		e.Detail["consent_dropped"] = strconv.Itoa(s.ConsentDropped)
	}
	e.Detail["max_grade"] = s.MaxGrade.String()
	switch {
	case s.RowsOut == 0 && s.Rows > 0 || (len(full) == 0 && len(masked) == 0 && (len(denied) > 0 || len(agg) > 0)):
		e.Action, e.Decision = AuditDeny, Deny.String()
	case s.Masked > 0 || s.AggOnly > 0 || s.Denied > 0 || s.ConsentDropped > 0:
		e.Action, e.Decision = AuditMask, Masked.String()
	default:
		e.Action, e.Decision = AuditRead, Full.String()
	}
	e.Rows = rowIDs(v)
	sort.Strings(e.Columns)
	return e
}

// rowIDs collects "id" (or "_row") values of the records, up to 1000.
func rowIDs(v any) []string {
	var ids []string
	add := func(m map[string]any) {
		if len(ids) >= 1000 {
			return
		}
		for _, k := range []string{"id", "_row"} {
			if x, ok := m[k]; ok && x != nil {
				ids = append(ids, scalarString(x))
				return
			}
		}
	}
	switch x := v.(type) {
	case map[string]any:
		if items, ok := x["items"].([]any); ok && isPage(x) {
			return rowIDs(items)
		}
		add(x)
	case []any:
		for _, it := range x {
			if m, ok := it.(map[string]any); ok {
				add(m)
			}
		}
	case []map[string]any:
		for _, m := range x {
			add(m)
		}
	}
	return ids
}

// ModelText prepares free text for an external AI model: the model endpoint is a reader
// (role "model") with its own clearance, and personal information in the text is masked
// in place unless the policy gives the model FULL. The masking is audited when it
// changed the text.
func (s *Service) ModelText(ctx context.Context, text string, grade Grade, clearance int) (string, error) {
	model := Reader{Role: RoleModel, IsModel: true, Clearance: clearance}
	out := s.Enforcer().MaskTextFor(model, text, grade, Inputs{Now: s.now()})
	if out != text {
		if err := s.record(ctx, AuditEvent{Actor: &citybrain.Actor{Username: "model", Role: RoleModel, Clearance: clearance}, Action: AuditMask,
			Table: "model_text", Decision: Masked.String(), Detail: map[string]string{"runes": strconv.Itoa(len([]rune(text)))}}); err != nil {
			return out, citybrain.Errorf(citybrain.EUNAVAILABLE, "无法记录审计日志 the access could not be audited")
		}
	}
	return out, nil
}

// ModelMasker returns the masking function for packages that send text to an external
// model (it fits triage.Masker): the model endpoint reads with the given clearance and
// text counts as the given grade. The text returned is always the masked one, also
// when recording the masking in the audit log failed.
func (s *Service) ModelMasker(grade Grade, clearance int) func(string) string {
	return func(text string) string {
		out, _ := s.ModelText(context.Background(), text, grade, clearance)
		return out
	}
}
