package main

import "context"

// wireAudit connects the audit subsystem: storage, HTTP routes, background tasks.
func wireAudit(ctx context.Context, a *app) error {
	return nil
}
