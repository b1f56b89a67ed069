package device

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/citybrain/citybrain"
)

// MemRepository is an in-memory Repository and EventStore: the registry of a throw-away
// simulation, of `citybrain demo --memory`, and of the tests of packages that need a registry
// but not SQL. Safe for concurrent use. Nothing survives the process.
type MemRepository struct {
	mu         sync.RWMutex
	devices    map[string]Device
	creds      map[string]Credential
	facilities map[string]Facility
	events     []Event
	commands   map[string]Command
}

var (
	_ Repository = (*MemRepository)(nil)
	_ EventStore = (*MemRepository)(nil)
)

// NewMemRepository returns an empty repository.
func NewMemRepository() *MemRepository {
	return &MemRepository{devices: map[string]Device{}, creds: map[string]Credential{},
		facilities: map[string]Facility{}, commands: map[string]Command{}}
}

func notFound(what, id string) error {
	return citybrain.Errorf(citybrain.ENOTFOUND, "%s %q 不存在 / %s %q not found", what, id, what, id)
}

// CreateDevice implements Repository.
func (r *MemRepository) CreateDevice(_ context.Context, d Device, c Credential) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.devices[d.ID]; ok {
		return citybrain.Errorf(citybrain.ECONFLICT, "设备 %q 已存在 / device %q exists", d.ID, d.ID)
	}
	r.devices[d.ID] = d
	r.creds[d.ID] = c
	return nil
}

// GetDevice implements Repository.
func (r *MemRepository) GetDevice(_ context.Context, id string) (Device, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.devices[id]
	if !ok {
		return Device{}, notFound("device", id)
	}
	return d, nil
}

// ListDevices implements Repository.
func (r *MemRepository) ListDevices(_ context.Context, f Filter) ([]Device, error) {
	r.mu.RLock()
	out := make([]Device, 0, len(r.devices))
	for _, d := range r.devices {
		if d.ID <= f.After && f.After != "" {
			continue
		}
		if (f.Area != "" && d.Area != f.Area) || (f.Profile != "" && d.Profile != f.Profile) || (f.Facility != "" && d.Facility != f.Facility) {
			continue
		}
		out = append(out, d)
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// UpdateDevice implements Repository.
func (r *MemRepository) UpdateDevice(_ context.Context, d Device) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.devices[d.ID]; !ok {
		return notFound("device", d.ID)
	}
	r.devices[d.ID] = d
	return nil
}

// DeleteDevice implements Repository.
func (r *MemRepository) DeleteDevice(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.devices[id]; !ok {
		return notFound("device", id)
	}
	delete(r.devices, id)
	delete(r.creds, id)
	return nil
}

// SetDeviceCredential implements Repository.
func (r *MemRepository) SetDeviceCredential(_ context.Context, c Credential) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.devices[c.DeviceID]; !ok {
		return notFound("device", c.DeviceID)
	}
	r.creds[c.DeviceID] = c
	return nil
}

// DeviceCredentials implements Repository.
func (r *MemRepository) DeviceCredentials(_ context.Context) ([]CachedCredential, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]CachedCredential, 0, len(r.creds))
	for id, c := range r.creds {
		d := r.devices[id]
		out = append(out, CachedCredential{DeviceID: id, Hash: c.Hash, Profile: d.Profile, Disabled: d.Disabled})
	}
	return out, nil
}

// CreateFacility implements Repository.
func (r *MemRepository) CreateFacility(_ context.Context, f Facility) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.facilities[f.ID]; ok {
		return citybrain.Errorf(citybrain.ECONFLICT, "设施 %q 已存在 / facility %q exists", f.ID, f.ID)
	}
	r.facilities[f.ID] = f
	return nil
}

// GetFacility implements Repository.
func (r *MemRepository) GetFacility(_ context.Context, id string) (Facility, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f, ok := r.facilities[id]
	if !ok {
		return Facility{}, notFound("facility", id)
	}
	return f, nil
}

// ListFacilities implements Repository.
func (r *MemRepository) ListFacilities(_ context.Context, area string) ([]Facility, error) {
	r.mu.RLock()
	var out []Facility
	for _, f := range r.facilities {
		if area == "" || f.Area == area {
			out = append(out, f)
		}
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// AppendDeviceEvents implements EventStore.
func (r *MemRepository) AppendDeviceEvents(_ context.Context, es []Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range es {
		e.ID = int64(len(r.events) + 1)
		r.events = append(r.events, e)
	}
	return nil
}

// ListDeviceEvents implements EventStore: newest first.
func (r *MemRepository) ListDeviceEvents(_ context.Context, deviceID string, limit int) ([]Event, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []Event
	for i := len(r.events) - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
		if deviceID == "" || r.events[i].DeviceID == deviceID {
			out = append(out, r.events[i])
		}
	}
	return out, nil
}

// CreateDeviceCommand implements EventStore.
func (r *MemRepository) CreateDeviceCommand(_ context.Context, c Command) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.commands[c.ID]; ok {
		return citybrain.Errorf(citybrain.ECONFLICT, "command %q exists", c.ID)
	}
	r.commands[c.ID] = c
	return nil
}

// UpdateDeviceCommand implements EventStore.
func (r *MemRepository) UpdateDeviceCommand(_ context.Context, c Command) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.commands[c.ID]; !ok {
		return notFound("command", c.ID)
	}
	r.commands[c.ID] = c
	return nil
}

// GetDeviceCommand implements EventStore.
func (r *MemRepository) GetDeviceCommand(_ context.Context, id string) (Command, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.commands[id]
	if !ok {
		return Command{}, notFound("command", id)
	}
	return c, nil
}

// ListDeviceCommands implements EventStore: newest first.
func (r *MemRepository) ListDeviceCommands(_ context.Context, deviceID string, limit int) ([]Command, error) {
	r.mu.RLock()
	var out []Command
	for _, c := range r.commands {
		if deviceID == "" || c.DeviceID == deviceID {
			out = append(out, c)
		}
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// DueDeviceCommands implements EventStore.
func (r *MemRepository) DueDeviceCommands(_ context.Context, now time.Time, limit int) ([]Command, error) {
	r.mu.RLock()
	var out []Command
	for _, c := range r.commands {
		if (c.Status == CommandPending || c.Status == CommandSent) && c.Deadline.Before(now) {
			out = append(out, c)
		}
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Deadline.Equal(out[j].Deadline) {
			return out[i].Deadline.Before(out[j].Deadline)
		}
		return out[i].ID < out[j].ID
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
