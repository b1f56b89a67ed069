package main

import "context"

// wireAreas connects the areas subsystem: storage, HTTP routes, background tasks.
func wireAreas(ctx context.Context, a *app) error {
	return nil
}
