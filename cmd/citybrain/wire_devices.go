package main

import "context"

// wireDevices connects the devices subsystem: storage, HTTP routes, background tasks.
func wireDevices(ctx context.Context, a *app) error {
	return nil
}
