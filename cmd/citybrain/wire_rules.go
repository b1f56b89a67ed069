package main

import "context"

// wireRules connects the rules subsystem: storage, HTTP routes, background tasks.
func wireRules(ctx context.Context, a *app) error {
	return nil
}
