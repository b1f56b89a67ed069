package main

import "context"

// wireAssess connects the assess subsystem: storage, HTTP routes, background tasks.
func wireAssess(ctx context.Context, a *app) error {
	return nil
}
