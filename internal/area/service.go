package area

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Repository stores the district model. The store package implements it for SQLite
// and PostgreSQL.
type Repository interface {
	// Areas returns every stored area (any order); none is not an error.
	Areas(ctx context.Context) ([]Area, error)
	// ReplaceAreas replaces all stored areas with areas in one transaction, records
	// the source (e.g. "demo" or a file name) and returns the new version.
	ReplaceAreas(ctx context.Context, areas []Area, source string, at time.Time) (int64, error)
	// AreasVersion returns the version of the stored areas: 0 when none were ever
	// stored, larger after every ReplaceAreas (also by another process).
	AreasVersion(ctx context.Context) (int64, error)
}

// Service loads the district model from its repository, replaces it and keeps the Map
// in use in a Current, swapping it atomically when the stored areas change. Its
// methods are safe for concurrent use; replacements are serialised.
type Service struct {
	repo Repository
	now  func() time.Time
	cur  *Current

	mu      sync.Mutex // serialises Load/Replace/Refresh and guards version
	version int64
}

// NewService returns a service holding an empty Map until Load is called.
func NewService(repo Repository, now func() time.Time) *Service {
	empty, _ := NewMap(nil)
	return &Service{repo: repo, now: now, cur: NewCurrent(empty)}
}

// Current returns the holder of the Map in use, for packages that look points up.
func (s *Service) Current() *Current { return s.cur }

// Map returns the Map in use.
func (s *Service) Map() *Map { return s.cur.Load() }

// Version returns the stored version the Map in use was loaded from.
func (s *Service) Version() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

// Load reads the stored areas and makes them the Map in use.
func (s *Service) Load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadLocked(ctx)
}

func (s *Service) loadLocked(ctx context.Context) error {
	v, err := s.repo.AreasVersion(ctx)
	if err != nil {
		return fmt.Errorf("areas version: %w", err)
	}
	as, err := s.repo.Areas(ctx)
	if err != nil {
		return fmt.Errorf("load areas: %w", err)
	}
	m, err := NewMap(as)
	if err != nil {
		return fmt.Errorf("stored areas: %w", err)
	}
	s.cur.Store(m)
	s.version = v
	return nil
}

// Refresh reloads the Map when the stored version changed (after an import by another
// process) and reports whether it did.
func (s *Service) Refresh(ctx context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.repo.AreasVersion(ctx)
	if err != nil {
		return false, fmt.Errorf("areas version: %w", err)
	}
	if v == s.version {
		return false, nil
	}
	return true, s.loadLocked(ctx)
}

// Replace checks the areas (NewMap's hierarchy checks; boundaries are expected to come
// from ParseGeoJSON or Demo), stores them in place of the current ones and makes them
// the Map in use. On error nothing changes.
func (s *Service) Replace(ctx context.Context, areas []Area, source string) (*Map, error) {
	m, err := NewMap(areas)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.repo.ReplaceAreas(ctx, m.All(), source, s.now())
	if err != nil {
		return nil, fmt.Errorf("store areas: %w", err)
	}
	s.cur.Store(m)
	s.version = v
	return m, nil
}

// EnsureDemo stores the synthetic demo district when the store has never held areas,
// then loads what is stored. It reports whether it stored the demo.
func (s *Service) EnsureDemo(ctx context.Context) (bool, error) {
	v, err := s.repo.AreasVersion(ctx)
	if err != nil {
		return false, fmt.Errorf("areas version: %w", err)
	}
	if v == 0 {
		if _, err := s.Replace(ctx, Demo(), "demo"); err != nil {
			return false, err
		}
		return true, nil
	}
	return false, s.Load(ctx)
}
