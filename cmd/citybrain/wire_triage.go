package main

import "context"

// wireTriage connects the triage subsystem: storage, HTTP routes, background tasks.
func wireTriage(ctx context.Context, a *app) error {
	return nil
}
