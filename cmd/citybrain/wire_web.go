package main

import "context"

// wireWeb connects the web subsystem: storage, HTTP routes, background tasks.
func wireWeb(ctx context.Context, a *app) error {
	return nil
}
