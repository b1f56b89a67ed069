package main

import (
	"context"
	"fmt"
	"time"

	"github.com/citybrain/citybrain/internal/audit"
	"github.com/citybrain/citybrain/internal/httpapi"
)

// wireAudit connects the audit subsystem: the signing key under the data directory, the log over
// the database, the auditor's HTTP routes, and a final checkpoint at shutdown.
func wireAudit(ctx context.Context, a *app) error {
	keys, err := audit.LoadOrCreateKey(auditKeyPath(a.cfg), "")
	if err != nil {
		return fmt.Errorf("audit key: %w", err)
	}
	l, err := audit.Open(ctx, audit.Config{Store: a.db, Keys: keys, Now: a.clock.Now, Retention: a.cfg.AuditRetention})
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	a.auditLog = l
	a.onClose(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := l.Close(cctx); err != nil {
			a.log.Error("audit log close", "err", err)
		}
	})
	a.api.Mount(httpapi.AuditRoutes(a.api, l)...)
	a.log.Info("audit log open", "entries", l.Size(), "verifier_key", l.VerifierKey(), "key_file", auditKeyPath(a.cfg))
	return nil
}
