package main

import "github.com/citybrain/citybrain/internal/audit"

import "github.com/citybrain/citybrain/internal/web"

import "github.com/citybrain/citybrain/internal/area"

import "github.com/citybrain/citybrain/internal/workorder"

// services holds each subsystem's handles so wire functions can reach the ones wired before
// them. Each wire_*.go adds its own fields here, one per line, under its heading.
type services struct {
	// areas
	areas   *area.Service // the district model: load, import, reload
	areaMap *area.Current // the area.Map in use for point lookup; swapped atomically on import

	// audit
	auditLog *audit.Log // the append-only audit log; use it as an audit.Recorder

	// governance

	// telemetry

	// devices

	// rules

	// triage

	// workorders
	workorders *workorder.Service // intake, lifecycle, deadlines; rules call OpenFromAlert at alert time

	// assess

	// web
	liveHub *web.Hub
}
