package device

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
)

// Service is the device registry: it validates, authorises and stores devices through the
// Repository and keeps the credential cache and status tracker in step. Safe for concurrent use.
type Service struct {
	repo     Repository
	profiles *Profiles
	creds    *CredentialCache
	status   *StatusTracker
	clock    citybrain.Clock
}

// NewService returns a registry service. creds and status may be shared with the broker.
func NewService(repo Repository, profiles *Profiles, creds *CredentialCache, status *StatusTracker, clock citybrain.Clock) *Service {
	if clock == nil {
		clock = citybrain.SystemClock{}
	}
	return &Service{repo: repo, profiles: profiles, creds: creds, status: status, clock: clock}
}

// Profiles returns the catalogue.
func (s *Service) Profiles() *Profiles { return s.profiles }

// Credentials returns the credential cache.
func (s *Service) Credentials() *CredentialCache { return s.creds }

// Status returns the status tracker.
func (s *Service) Status() *StatusTracker { return s.status }

// Load fills the credential cache and status tracker from the repository; call it at start.
func (s *Service) Load(ctx context.Context) error {
	since := s.creds.Generation()
	cs, err := s.repo.DeviceCredentials(ctx)
	if err != nil {
		return fmt.Errorf("load device credentials: %w", err)
	}
	s.creds.Load(cs, since)
	for _, c := range cs {
		s.status.Register(c.DeviceID, s.interval(c.Profile), c.Disabled)
	}
	return nil
}

func (s *Service) interval(profile string) time.Duration {
	if p := s.profiles.Get(profile); p != nil {
		return p.Interval()
	}
	return 0
}

// canWrite: admins and command-center operators manage the registry; the platform itself (no
// actor, e.g. the CLI importing with the database open) is trusted.
func canWrite(ctx context.Context) error {
	a := citybrain.ActorFrom(ctx)
	if a == nil || a.Is(citybrain.RoleAdmin, citybrain.RoleOperator) {
		return nil
	}
	return citybrain.Errorf(citybrain.EFORBIDDEN, "只有管理员和值班员可以管理设备 / only admins and operators manage devices")
}

// canRead: staff read the registry; citizens and devices do not.
func canRead(ctx context.Context) error {
	a := citybrain.ActorFrom(ctx)
	if a == nil || a.Is(citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleDept, citybrain.RoleWorker, citybrain.RoleAuditor) {
		return nil
	}
	return citybrain.Errorf(citybrain.EFORBIDDEN, "无权查看设备 / not allowed to read devices")
}

// Create registers a device and returns it with its secret, which is shown only this once.
func (s *Service) Create(ctx context.Context, in Input) (Device, string, error) {
	if err := canWrite(ctx); err != nil {
		return Device{}, "", err
	}
	now := s.clock.Now().UTC()
	d := Device{ID: in.ID, Name: in.Name, Profile: in.Profile, Area: in.Area, Lon: in.Lon, Lat: in.Lat,
		Address: in.Address, Facility: in.Facility, Household: in.Household, CreatedAt: now, UpdatedAt: now}
	if d.Name == "" {
		d.Name = d.ID
	}
	if err := d.validate(s.profiles); err != nil {
		return Device{}, "", err
	}
	if d.Facility != "" {
		if _, err := s.repo.GetFacility(ctx, d.Facility); err != nil {
			if citybrain.ErrorCode(err) == citybrain.ENOTFOUND {
				return Device{}, "", citybrain.FieldError("facility", "未知的设施 %q / unknown facility %q", d.Facility, d.Facility)
			}
			return Device{}, "", err
		}
	}
	secret, err := NewSecret()
	if err != nil {
		return Device{}, "", err
	}
	cred := Credential{DeviceID: d.ID, Hash: HashSecret(secret), RotatedAt: now}
	if err := s.repo.CreateDevice(ctx, d, cred); err != nil {
		return Device{}, "", err
	}
	s.creds.Put(CachedCredential{DeviceID: d.ID, Hash: cred.Hash, Profile: d.Profile})
	s.status.Register(d.ID, s.interval(d.Profile), false)
	return d, secret, nil
}

// Get returns a device.
func (s *Service) Get(ctx context.Context, id string) (Device, error) {
	if err := canRead(ctx); err != nil {
		return Device{}, err
	}
	return s.repo.GetDevice(ctx, id)
}

// Each calls fn for every device matching f, page by page, until fn returns false. It is the
// one way to walk the whole registry (f.After and f.Limit are managed here).
func (s *Service) Each(ctx context.Context, f Filter, fn func(Device) bool) error {
	f.Limit = MaxPage
	for {
		page, next, err := s.List(ctx, f)
		if err != nil {
			return err
		}
		for _, d := range page {
			if !fn(d) {
				return nil
			}
		}
		if next == "" {
			return nil
		}
		f.After = next
	}
}

// All returns every device matching f.
func (s *Service) All(ctx context.Context, f Filter) ([]Device, error) {
	var out []Device
	err := s.Each(ctx, f, func(d Device) bool { out = append(out, d); return true })
	return out, err
}

// MaxPage is the largest page List returns.
const MaxPage = 1000

// List returns a page of devices matching f and the cursor of the next page ("" at the end).
// A Status filter is applied on the live status after the registry query, so a page may hold
// fewer than Limit devices while more follow.
func (s *Service) List(ctx context.Context, f Filter) ([]Device, string, error) {
	if err := canRead(ctx); err != nil {
		return nil, "", err
	}
	if f.Limit <= 0 || f.Limit > MaxPage {
		f.Limit = 100
	}
	switch f.Status {
	case "", StateOnline, StateOffline, StateSilent, StateNeverSeen, StateDisabled:
	default:
		return nil, "", citybrain.FieldError("status", "status须为online/offline/silent/never_seen/disabled / status must be one of online, offline, silent, never_seen, disabled")
	}
	ds, err := s.repo.ListDevices(ctx, f)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ds) == f.Limit {
		next = ds[len(ds)-1].ID
	}
	if f.Status != "" {
		now := s.clock.Now()
		out := ds[:0]
		for _, d := range ds {
			if s.status.Get(d.ID, now).State == f.Status {
				out = append(out, d)
			}
		}
		ds = out
	}
	return ds, next, nil
}

// Update applies a patch.
func (s *Service) Update(ctx context.Context, id string, p Patch) (Device, error) {
	if err := canWrite(ctx); err != nil {
		return Device{}, err
	}
	d, err := s.repo.GetDevice(ctx, id)
	if err != nil {
		return Device{}, err
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&d.Name, p.Name)
	set(&d.Profile, p.Profile)
	set(&d.Area, p.Area)
	set(&d.Address, p.Address)
	set(&d.Facility, p.Facility)
	set(&d.Household, p.Household)
	if p.Lon != nil {
		d.Lon = *p.Lon
	}
	if p.Lat != nil {
		d.Lat = *p.Lat
	}
	if p.Disabled != nil {
		d.Disabled = *p.Disabled
	}
	if err := d.validate(s.profiles); err != nil {
		return Device{}, err
	}
	if p.Facility != nil && d.Facility != "" {
		if _, err := s.repo.GetFacility(ctx, d.Facility); err != nil {
			if citybrain.ErrorCode(err) == citybrain.ENOTFOUND {
				return Device{}, citybrain.FieldError("facility", "未知的设施 %q / unknown facility %q", d.Facility, d.Facility)
			}
			return Device{}, err
		}
	}
	d.UpdatedAt = s.clock.Now().UTC()
	if err := s.repo.UpdateDevice(ctx, d); err != nil {
		return Device{}, err
	}
	if c, ok := s.creds.Lookup(d.ID); ok {
		c.Profile, c.Disabled = d.Profile, d.Disabled
		s.creds.Put(c)
	}
	s.status.Register(d.ID, s.interval(d.Profile), d.Disabled)
	return d, nil
}

// SetDisabled disables or re-enables a device. A disabled device cannot authenticate; the
// broker adapter also disconnects it (see ingest).
func (s *Service) SetDisabled(ctx context.Context, id string, disabled bool) (Device, error) {
	return s.Update(ctx, id, Patch{Disabled: &disabled})
}

// Delete removes a device. Its stored readings stay (they belong to telemetry retention).
func (s *Service) Delete(ctx context.Context, id string) error {
	if err := canWrite(ctx); err != nil {
		return err
	}
	if err := s.repo.DeleteDevice(ctx, id); err != nil {
		return err
	}
	s.creds.Remove(id)
	s.status.Forget(id)
	return nil
}

// Rotate replaces a device's secret and returns the new one (shown once). The old secret stops
// working at once for new connections.
func (s *Service) Rotate(ctx context.Context, id string) (string, error) {
	if err := canWrite(ctx); err != nil {
		return "", err
	}
	d, err := s.repo.GetDevice(ctx, id)
	if err != nil {
		return "", err
	}
	secret, err := NewSecret()
	if err != nil {
		return "", err
	}
	c := Credential{DeviceID: id, Hash: HashSecret(secret), RotatedAt: s.clock.Now().UTC()}
	if err := s.repo.SetDeviceCredential(ctx, c); err != nil {
		return "", err
	}
	s.creds.Put(CachedCredential{DeviceID: id, Hash: c.Hash, Profile: d.Profile, Disabled: d.Disabled})
	return secret, nil
}

// CreateFacility registers a facility.
func (s *Service) CreateFacility(ctx context.Context, f Facility) (Facility, error) {
	if err := canWrite(ctx); err != nil {
		return Facility{}, err
	}
	if err := ValidID(f.ID); err != nil {
		var e *citybrain.Error
		if errors.As(err, &e) {
			e.Message = strings.ReplaceAll(strings.ReplaceAll(e.Message, "设备编号", "设施编号"), "device id", "facility id")
		}
		return Facility{}, err
	}
	if !s.profiles.ValidFacilityKind(f.Kind) {
		return Facility{}, citybrain.FieldError("kind", "未知的设施类型 %q / unknown facility kind %q", f.Kind, f.Kind)
	}
	if f.Name == "" {
		return Facility{}, citybrain.FieldError("name", "设施名称不能为空 / the facility name is required")
	}
	if err := validateText("name", f.Name, 100); err != nil {
		return Facility{}, err
	}
	if err := validatePoint(f.Lon, f.Lat); err != nil {
		return Facility{}, err
	}
	f.CreatedAt = s.clock.Now().UTC()
	if err := s.repo.CreateFacility(ctx, f); err != nil {
		return Facility{}, err
	}
	return f, nil
}

// Facilities lists facilities, optionally of one area.
func (s *Service) Facilities(ctx context.Context, area string) ([]Facility, error) {
	if err := canRead(ctx); err != nil {
		return nil, err
	}
	return s.repo.ListFacilities(ctx, area)
}
