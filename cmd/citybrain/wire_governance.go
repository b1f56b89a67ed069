package main

import "context"

// wireGovernance connects the governance subsystem: storage, HTTP routes, background tasks.
func wireGovernance(ctx context.Context, a *app) error {
	return nil
}
