package workorder

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/citybrain/citybrain"
)

// MemoryRepository is an in-memory Repository for tests and single-process trials. It holds
// one mutex over all its maps; every method copies orders in and out.
type MemoryRepository struct {
	mu       sync.Mutex
	orders   map[int64]*Order
	byNo     map[string]int64
	byToken  map[string]int64
	events   map[int64][]Event
	seqs     map[string]int64
	config   map[string][]byte
	training []TrainingExample
	nextID   int64
	nextEv   int64
}

var _ Repository = (*MemoryRepository)(nil)

// NewMemoryRepository returns an empty repository.
func NewMemoryRepository() *MemoryRepository {
	return &MemoryRepository{orders: map[int64]*Order{}, byNo: map[string]int64{}, byToken: map[string]int64{},
		events: map[int64][]Event{}, seqs: map[string]int64{}, config: map[string][]byte{}}
}

// CreateOrder implements Repository.
func (m *MemoryRepository) CreateOrder(ctx context.Context, o *Order, evs ...*Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byNo[o.TrackingNo]; ok {
		return citybrain.Errorf(citybrain.ECONFLICT, "tracking number %s exists", o.TrackingNo)
	}
	m.nextID++
	o.ID = m.nextID
	o.Version = 1
	m.orders[o.ID] = o.Clone()
	m.byNo[o.TrackingNo] = o.ID
	if o.TokenHash != "" {
		m.byToken[o.TokenHash] = o.ID
	}
	for _, ev := range evs {
		m.appendEvent(o.ID, ev)
	}
	return nil
}

func (m *MemoryRepository) appendEvent(id int64, ev *Event) {
	m.nextEv++
	ev.ID = m.nextEv
	ev.OrderID = id
	c := *ev
	c.Attachments = append([]string(nil), ev.Attachments...)
	m.events[id] = append(m.events[id], c)
}

// UpdateOrder implements Repository.
func (m *MemoryRepository) UpdateOrder(ctx context.Context, o *Order, evs ...*Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.orders[o.ID]
	if !ok {
		return citybrain.Errorf(citybrain.ENOTFOUND, "工单不存在 work order %d not found", o.ID)
	}
	if cur.Version != o.Version {
		return citybrain.Errorf(citybrain.ECONFLICT, "工单已被他人修改 work order %d was changed concurrently", o.ID)
	}
	o.Version++
	m.orders[o.ID] = o.Clone()
	for _, ev := range evs {
		m.appendEvent(o.ID, ev)
	}
	return nil
}

// GetOrder implements Repository.
func (m *MemoryRepository) GetOrder(ctx context.Context, id int64) (*Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.orders[id]
	if !ok {
		return nil, citybrain.Errorf(citybrain.ENOTFOUND, "工单不存在 work order %d not found", id)
	}
	return o.Clone(), nil
}

// GetOrderByTrackingNo implements Repository.
func (m *MemoryRepository) GetOrderByTrackingNo(ctx context.Context, no string) (*Order, error) {
	m.mu.Lock()
	id, ok := m.byNo[no]
	m.mu.Unlock()
	if !ok {
		return nil, citybrain.Errorf(citybrain.ENOTFOUND, "工单不存在 work order %s not found", no)
	}
	return m.GetOrder(ctx, id)
}

// GetOrderByTokenHash implements Repository.
func (m *MemoryRepository) GetOrderByTokenHash(ctx context.Context, h string) (*Order, error) {
	m.mu.Lock()
	id, ok := m.byToken[h]
	m.mu.Unlock()
	if !ok {
		return nil, citybrain.Errorf(citybrain.ENOTFOUND, "令牌无效 token not found")
	}
	return m.GetOrder(ctx, id)
}

// Events implements Repository.
func (m *MemoryRepository) Events(ctx context.Context, id int64) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.orders[id]; !ok {
		return nil, citybrain.Errorf(citybrain.ENOTFOUND, "工单不存在 work order %d not found", id)
	}
	return append([]Event(nil), m.events[id]...), nil
}

// Matches reports whether o satisfies the filter's conditions (not its pagination). Other
// Repository implementations may use it to check themselves in tests.
func (f *Filter) Matches(o *Order) bool {
	if len(f.IDs) > 0 || len(f.TrackingNos) > 0 {
		return slices.Contains(f.IDs, o.ID) || slices.Contains(f.TrackingNos, o.TrackingNo)
	}
	if (len(f.Categories) > 0 || len(f.Subcategories) > 0) && !slices.Contains(f.Categories, o.Category) &&
		(o.Subcategory == "" || !slices.Contains(f.Subcategories, o.Subcategory)) {
		return false
	}
	if len(f.States) > 0 && !slices.Contains(f.States, o.State) {
		return false
	}
	if f.Open != nil && *f.Open != o.Open() {
		return false
	}
	if !f.From.IsZero() && o.CreatedAt.Before(f.From) {
		return false
	}
	if !f.To.IsZero() && !o.CreatedAt.Before(f.To) {
		return false
	}
	if !f.ClosedFrom.IsZero() && (o.ClosedAt.IsZero() || o.ClosedAt.Before(f.ClosedFrom)) {
		return false
	}
	if !f.ClosedTo.IsZero() && (o.ClosedAt.IsZero() || !o.ClosedAt.Before(f.ClosedTo)) {
		return false
	}
	if len(f.Priorities) > 0 && !slices.Contains(f.Priorities, o.Priority) {
		return false
	}
	if f.LeadDept != "" && o.LeadDept != f.LeadDept {
		return false
	}
	if f.Area != "" && o.Grid != f.Area && o.Community != f.Area && o.Street != f.Area {
		return false
	}
	if f.Street != "" && o.Street != f.Street {
		return false
	}
	if f.Community != "" && o.Community != f.Community {
		return false
	}
	if f.Grid != "" && o.Grid != f.Grid {
		return false
	}
	if f.Overdue && !o.Overdue(f.Now) {
		return false
	}
	if f.Source != "" && o.Source != f.Source {
		return false
	}
	if f.ReporterID != 0 {
		found := false
		for _, r := range o.Reporters {
			if r.UserID == f.ReporterID {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (m *MemoryRepository) sorted(f Filter) []*Order {
	var out []*Order
	for _, o := range m.orders {
		if f.Matches(o) {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out
}

// ListOrders implements Repository.
func (m *MemoryRepository) ListOrders(ctx context.Context, f Filter) ([]*Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	all := m.sorted(f)
	var out []*Order
	skipped := 0
	for _, o := range all {
		if !f.AfterCreated.IsZero() || f.AfterID != 0 {
			if o.CreatedAt.After(f.AfterCreated) || (o.CreatedAt.Equal(f.AfterCreated) && o.ID >= f.AfterID) {
				continue
			}
		}
		if skipped < f.Offset {
			skipped++
			continue
		}
		out = append(out, o.Clone())
		if f.Limit > 0 && len(out) >= f.Limit {
			break
		}
	}
	return out, nil
}

// ListPublic implements Repository.
func (m *MemoryRepository) ListPublic(ctx context.Context, f Filter) ([]*Order, error) {
	os, err := m.ListOrders(ctx, f)
	for i, o := range os {
		os[i] = PublicView(o)
	}
	return os, err
}

// CountOrders implements Repository.
func (m *MemoryRepository) CountOrders(ctx context.Context, f Filter) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sorted(f)), nil
}

// PublicUpdates implements Repository.
func (m *MemoryRepository) PublicUpdates(ctx context.Context, from, to time.Time, limit int) ([]Update, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Update
	for id, evs := range m.events {
		for _, e := range evs {
			if e.Public && !e.At.Before(from) && e.At.Before(to) {
				out = append(out, Update{Event: e, TrackingNo: m.orders[id].TrackingNo})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].ID < out[j].ID
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// CountBy implements Repository.
func (m *MemoryRepository) CountBy(ctx context.Context, f Filter, by GroupBy) (map[string]int, error) {
	if !by.Valid() {
		return nil, citybrain.FieldError("by", "cannot count by %q", by)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for _, o := range m.sorted(f) {
		out[by.Of(o)]++
	}
	return out, nil
}

// DueOrders implements Repository.
func (m *MemoryRepository) DueOrders(ctx context.Context, t time.Time, limit int) ([]*Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Order
	for _, o := range m.orders {
		if o.Open() && !o.NextDue.IsZero() && !o.NextDue.After(t) {
			out = append(out, o.Clone())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NextDue.Before(out[j].NextDue) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// NearbyOpen implements Repository.
func (m *MemoryRepository) NearbyOpen(ctx context.Context, category string, minLon, minLat, maxLon, maxLat float64, since time.Time) ([]*Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Order
	for _, o := range m.orders {
		if o.Open() && o.HasLocation && o.Category == category && !o.CreatedAt.Before(since) &&
			o.Lon >= minLon && o.Lon <= maxLon && o.Lat >= minLat && o.Lat <= maxLat {
			out = append(out, o.Clone())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// NextSequence implements Repository.
func (m *MemoryRepository) NextSequence(ctx context.Context, name string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seqs[name]++
	return m.seqs[name], nil
}

// GetConfig implements Repository.
func (m *MemoryRepository) GetConfig(ctx context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.config[key]
	if !ok {
		return nil, citybrain.Errorf(citybrain.ENOTFOUND, "config %s not set", key)
	}
	return append([]byte(nil), b...), nil
}

// PutConfig implements Repository.
func (m *MemoryRepository) PutConfig(ctx context.Context, key string, doc []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.config[key] = append([]byte(nil), doc...)
	return nil
}

// AddTrainingExample implements Repository.
func (m *MemoryRepository) AddTrainingExample(ctx context.Context, ex *TrainingExample) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ex.ID = int64(len(m.training) + 1)
	m.training = append(m.training, *ex)
	return nil
}

// TrainingExamples implements Repository.
func (m *MemoryRepository) TrainingExamples(ctx context.Context, limit int) ([]TrainingExample, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := append([]TrainingExample(nil), m.training...)
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

// MemoryMedia is an in-memory MediaRepository for tests.
type MemoryMedia struct {
	mu sync.Mutex
	m  map[string]*Media
}

var _ MediaRepository = (*MemoryMedia)(nil)

// PutMedia implements MediaRepository.
func (mm *MemoryMedia) PutMedia(ctx context.Context, m *Media) error {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if mm.m == nil {
		mm.m = map[string]*Media{}
	}
	if _, ok := mm.m[m.ID]; ok {
		return citybrain.Errorf(citybrain.ECONFLICT, "media %s exists", m.ID)
	}
	c := *m
	mm.m[m.ID] = &c
	return nil
}

// GetMedia implements MediaRepository.
func (mm *MemoryMedia) GetMedia(ctx context.Context, id string) (*Media, error) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	m, ok := mm.m[id]
	if !ok {
		return nil, citybrain.Errorf(citybrain.ENOTFOUND, "photo %s not found", id)
	}
	c := *m
	return &c, nil
}
