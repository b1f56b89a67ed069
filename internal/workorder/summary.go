package workorder

import (
	"context"
	"sort"
	"time"

	"github.com/citybrain/citybrain"
)

// Hotspot is an area with many new reports.
type Hotspot struct {
	Area  string `json:"area"`
	Count int    `json:"count"`
}

// Summary holds the real figures of a period, for the daily situation brief (per street or
// for the district) that the assistant writes and staff edit.
type Summary struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Street string    `json:"street,omitempty"` // "" for the whole district
	// New were created in the period, Closed closed in it; Open, Overdue and Triage are the
	// counts at To (now for a period ending now).
	New     int `json:"new"`
	Closed  int `json:"closed"`
	Open    int `json:"open"`
	Overdue int `json:"overdue"`
	Triage  int `json:"triage"`
	// PreviousNew is New for the period of the same length just before, for trends.
	PreviousNew        int            `json:"previous_new"`
	ByCategory         map[string]int `json:"by_category"`
	PreviousByCategory map[string]int `json:"previous_by_category"`
	ByStreet           map[string]int `json:"by_street,omitempty"`
	// Hotspots are the grids with the most new reports, most first (at most 5).
	Hotspots []Hotspot `json:"hotspots"`
	// Notable are new emergencies and overdue orders (public fields only, at most 10 each).
	Emergencies []*Order `json:"emergencies"`
	OverdueList []*Order `json:"overdue_list"`
}

// Summarize computes the figures of [from, to) for a street ("" = the district). Staff only.
func (s *Service) Summarize(ctx context.Context, from, to time.Time, street string) (*Summary, error) {
	if !citybrain.ActorFrom(ctx).Is(citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleAuditor, citybrain.RoleDept, citybrain.RoleWorker) && citybrain.ActorFrom(ctx).Role != RoleSystem {
		return nil, citybrain.Errorf(citybrain.EFORBIDDEN, "无权查看 not allowed")
	}
	if to.IsZero() {
		to = s.clock.Now()
	}
	if from.IsZero() {
		from = to.Add(-24 * time.Hour)
	}
	if !from.Before(to) || to.Sub(from) > 366*24*time.Hour {
		return nil, citybrain.FieldError("from", "统计区间无效 the period must be positive and at most a year")
	}
	sum := &Summary{From: from, To: to, Street: street}
	var err error
	newF := Filter{From: from, To: to, Street: street}
	if sum.ByCategory, err = s.repo.CountBy(ctx, newF, ByCategory); err != nil {
		return nil, err
	}
	for _, n := range sum.ByCategory {
		sum.New += n
	}
	prevF := Filter{From: from.Add(-to.Sub(from)), To: from, Street: street}
	if sum.PreviousByCategory, err = s.repo.CountBy(ctx, prevF, ByCategory); err != nil {
		return nil, err
	}
	for _, n := range sum.PreviousByCategory {
		sum.PreviousNew += n
	}
	if sum.Closed, err = s.repo.CountOrders(ctx, Filter{ClosedFrom: from, ClosedTo: to, Street: street}); err != nil {
		return nil, err
	}
	open := true
	if sum.Open, err = s.repo.CountOrders(ctx, Filter{Open: &open, Street: street}); err != nil {
		return nil, err
	}
	if sum.Overdue, err = s.repo.CountOrders(ctx, Filter{Overdue: true, Now: to, Street: street}); err != nil {
		return nil, err
	}
	if sum.Triage, err = s.repo.CountOrders(ctx, Filter{States: []State{StateTriage}, Street: street}); err != nil {
		return nil, err
	}
	if street == "" {
		if sum.ByStreet, err = s.repo.CountBy(ctx, newF, ByStreet); err != nil {
			return nil, err
		}
	}
	grids, err := s.repo.CountBy(ctx, newF, ByGrid)
	if err != nil {
		return nil, err
	}
	for g, n := range grids {
		if g != "" {
			sum.Hotspots = append(sum.Hotspots, Hotspot{Area: g, Count: n})
		}
	}
	sort.Slice(sum.Hotspots, func(i, j int) bool {
		if sum.Hotspots[i].Count != sum.Hotspots[j].Count {
			return sum.Hotspots[i].Count > sum.Hotspots[j].Count
		}
		return sum.Hotspots[i].Area < sum.Hotspots[j].Area
	})
	if len(sum.Hotspots) > 5 {
		sum.Hotspots = sum.Hotspots[:5]
	}
	if sum.Hotspots == nil {
		sum.Hotspots = []Hotspot{}
	}
	if sum.Emergencies, err = s.repo.ListPublic(ctx, Filter{From: from, To: to, Street: street, Priorities: []Priority{PriorityEmergency}, Limit: 10}); err != nil {
		return nil, err
	}
	if sum.OverdueList, err = s.repo.ListPublic(ctx, Filter{Overdue: true, Now: to, Street: street, Limit: 10}); err != nil {
		return nil, err
	}
	if sum.Emergencies == nil {
		sum.Emergencies = []*Order{}
	}
	if sum.OverdueList == nil {
		sum.OverdueList = []*Order{}
	}
	return sum, nil
}
