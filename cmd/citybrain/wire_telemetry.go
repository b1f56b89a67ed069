package main

import "context"

// wireTelemetry connects the telemetry subsystem: storage, HTTP routes, background tasks.
func wireTelemetry(ctx context.Context, a *app) error {
	return nil
}
