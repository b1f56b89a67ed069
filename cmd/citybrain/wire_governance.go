package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/citybrain/citybrain/internal/audit"
	"github.com/citybrain/citybrain/internal/governance"
	"github.com/citybrain/citybrain/internal/httpapi"
	"github.com/citybrain/citybrain/internal/store"
)

// wireGovernance connects data governance: the pseudonym key under the data directory,
// the service over the store with the default policy, the audit adapter, the Guard that
// filters every response carrying stored data, the HTTP routes and the sweep that
// escalates overdue sharing requests.
func wireGovernance(ctx context.Context, a *app) error {
	var rec audit.Recorder
	if a.auditLog != nil {
		rec = a.auditLog
	}
	// devices are wired after governance: look them up when a response is filtered.
	lookup := func(ctx context.Context, id string) (string, string, error) {
		if a.devices == nil {
			return "", "", nil
		}
		d, err := a.devices.Get(ctx, id)
		if err != nil {
			return "", "", err
		}
		return d.Profile, d.Household, nil
	}
	svc, err := newGovernance(ctx, a.cfg, a.db, rec, a.clock.Now, lookup)
	if err != nil {
		return err
	}
	a.governance = svc
	a.api.SetGuard(svc)
	a.api.Mount(httpapi.GovernanceRoutes(a.api, svc)...)
	a.goLeaderTask("governance-sweep", func(ctx context.Context) error {
		t := time.NewTicker(10 * time.Minute)
		defer t.Stop()
		for {
			if n, err := svc.Sweep(ctx); err != nil {
				a.log.Error("governance sweep", "err", err)
			} else if n > 0 {
				a.log.Info("sharing requests escalated after their deadline", "count", n)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
	return nil
}

// newGovernance builds the governance service; the CLI import uses it too.
func newGovernance(ctx context.Context, cfg *config, db *store.DB, rec audit.Recorder, now func() time.Time,
	devices func(ctx context.Context, id string) (string, string, error)) (*governance.Service, error) {
	key, err := loadOrCreatePseudonymKey(filepath.Join(cfg.Data, "governance-pseudonym.key"))
	if err != nil {
		return nil, fmt.Errorf("governance key: %w", err)
	}
	m, err := governance.NewMasker(key)
	if err != nil {
		return nil, err
	}
	gc := governance.Config{Repo: db, Policy: governance.DefaultPolicy(), Masker: m, Now: now, DeviceLookup: devices}
	if rec != nil {
		gc.Audit = auditAdapter(rec)
	}
	svc, err := governance.NewService(gc)
	if err != nil {
		return nil, err
	}
	if err := svc.LoadPolicy(ctx); err != nil {
		return nil, fmt.Errorf("governance policy: %w", err)
	}
	return svc, nil
}

// auditAdapter records governance events in the audit log.
func auditAdapter(rec audit.Recorder) governance.AuditFunc {
	return func(ctx context.Context, e governance.AuditEvent) error {
		_, err := rec.Record(ctx, audit.Entry{Actor: audit.ActorOf(e.Actor), Action: e.Action,
			Object:   audit.Object{Dataset: e.Dataset, Table: e.Table, Rows: e.Rows, RowCount: e.RowCount, Columns: e.Columns},
			Decision: e.Decision, Purpose: e.Purpose, Detail: e.Detail})
		return err
	}
}

// loadOrCreatePseudonymKey reads the deployment's 32-byte pseudonym key, creating it
// (mode 0600) on first start. Pseudonyms join only while the key stays the same: back
// the file up with the database.
func loadOrCreatePseudonymKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < 16 {
			return nil, fmt.Errorf("%s: key shorter than 16 bytes", path)
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return loadOrCreatePseudonymKey(path)
		}
		return nil, err
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, err
	}
	return key, f.Close()
}
