package telemetry

import (
	"sort"

	"github.com/citybrain/citybrain"
)

// Member is one device's place for group aggregates: its profile and the codes of the areas
// containing it at each level ("" where unknown).
type Member struct {
	DeviceID  string
	Profile   string
	District  string
	Street    string
	Community string
	Grid      string
}

// Groupings accepted by GroupMembers.
const (
	GroupStreet    = "street"
	GroupCommunity = "community"
	GroupGrid      = "grid"
	GroupProfile   = "profile"
)

// In reports whether the member lies in the area with the code, at any level.
func (m Member) In(code string) bool {
	return code != "" && (m.District == code || m.Street == code || m.Community == code || m.Grid == code)
}

// key returns the member's group key under the grouping.
func (m Member) key(by string) string {
	switch by {
	case GroupStreet:
		return m.Street
	case GroupCommunity:
		return m.Community
	case GroupGrid:
		return m.Grid
	default:
		return m.Profile
	}
}

// GroupMembers builds GroupQuery.Groups: group key → device IDs, in ID order. Members
// without a code at the grouping's level are left out (they belong to no street, say).
func GroupMembers(ms []Member, by string) (map[string][]string, error) {
	switch by {
	case GroupStreet, GroupCommunity, GroupGrid, GroupProfile:
	default:
		return nil, citybrain.FieldError("group", "未知分组 unknown group %q (street, community, grid, profile)", by)
	}
	out := map[string][]string{}
	for _, m := range ms {
		if k := m.key(by); k != "" {
			out[k] = append(out[k], m.DeviceID)
		}
	}
	for _, ids := range out {
		sort.Strings(ids)
	}
	return out, nil
}
