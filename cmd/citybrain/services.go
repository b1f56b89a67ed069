package main

import "github.com/citybrain/citybrain/internal/audit"

import "github.com/citybrain/citybrain/internal/governance"

import "github.com/citybrain/citybrain/internal/alert"

import "github.com/citybrain/citybrain/internal/rule"

import "github.com/citybrain/citybrain/internal/web"

import "github.com/citybrain/citybrain/internal/area"

import "github.com/citybrain/citybrain/internal/device"

import "github.com/citybrain/citybrain/internal/ingest"

import "github.com/citybrain/citybrain/internal/telemetry"

import "github.com/citybrain/citybrain/internal/workorder"

import "github.com/citybrain/citybrain/internal/triage"

import "github.com/citybrain/citybrain/internal/assess"

// services holds each subsystem's handles so wire functions can reach the ones wired before
// them. Each wire_*.go adds its own fields here, one per line, under its heading.
type services struct {
	// areas
	areas   *area.Service // the district model: load, import, reload
	areaMap *area.Current // the area.Map in use for point lookup; swapped atomically on import

	// audit
	auditLog *audit.Log // the append-only audit log; use it as an audit.Recorder

	// governance
	governance *governance.Service // catalog, decisions, sharing, consent; also the httpapi Guard

	// telemetry
	telemetry *telemetry.Service // time series; wireDevices opens it if wireTelemetry has not

	// devices
	devices *device.Service  // the device registry, credential cache and live status
	ingest  *ingest.Ingestor // decoding and durable ingestion shared by MQTT and HTTP
	broker  *ingest.Broker   // the embedded MQTT broker; nil with --mqtt off

	// rules
	rules    *rule.Service     // rule definitions and the incremental engine (a.rules.Engine())
	alerts   *alert.Manager    // the alert state machine: Apply, Ack, Resolve, Escalate
	notifier *alert.Dispatcher // filtered notification delivery (log, webhooks)

	// triage
	triager         *triage.Lazy   // the assistant's triage: offline classifier, model-backed with --llm-url
	assistantWriter *triage.Writer // drafted replies and daily briefs (template text, model-polished with --llm-url)

	// workorders
	workorders *workorder.Service // intake, lifecycle, deadlines; rules call OpenFromAlert at alert time

	// assess
	assess *assess.Service // indicator systems, recomputation, results and drill-down

	// web
	liveHub *web.Hub
}
