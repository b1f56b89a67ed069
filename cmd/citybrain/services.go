package main

// services holds each subsystem's handles so wire functions can reach the ones wired before
// them. Each wire_*.go adds its own fields here, one per line, under its heading.
type services struct {
	// areas

	// audit

	// governance

	// telemetry

	// devices

	// rules

	// triage

	// workorders

	// assess

	// web
}
