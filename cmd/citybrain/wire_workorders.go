package main

import "context"

// wireWorkorders connects the workorders subsystem: storage, HTTP routes, background tasks.
func wireWorkorders(ctx context.Context, a *app) error {
	return nil
}
