package main

// commands lists every subcommand. Add one line per command; its function lives in cmd_*.go.
func commands() []command {
	return []command{
		{"serve", "run the platform (HTTP API and UI, MQTT broker, rules, work orders)", cmdServe},
		{"demo", "run the platform with the synthetic demo district and simulated devices", cmdDemo},
		{"migrate", "apply database migrations and exit", cmdMigrate},
		{"user add", "add a user", cmdUserAdd},
		{"token create", "create an API token for a user and print it once", cmdTokenCreate},
		{"import areas", "replace the district's boundaries with a validated GeoJSON file", cmdImportAreas},
		{"audit verify", "verify the audit log against its signed checkpoints (exit 3 names the first bad entry)", cmdAuditVerify},
		{"audit checkpoint", "print the latest signed audit checkpoint, to keep outside the database", cmdAuditCheckpoint},
		{"device import", "register devices from a CSV file and print their credentials once", cmdDeviceImport},
		{"device export", "write the device registry as CSV", cmdDeviceExport},
		{"dataset import", "import a department's CSV (UTF-8 or GB18030) as a governed dataset with suggested grades", cmdDatasetImport},
		{"simulate", "connect N simulated devices to a running citybrain over MQTT", cmdSimulate},
		{"bench ingest", "measure end-to-end MQTT ingestion against a fresh server, and Mosquitto on the same load", cmdBenchIngest},
		{"rules test", "run scripted rule tests (readings in, expected alerts out) without a server; exit 1 on a failure", cmdRulesTest},
		{"bench alerts", "measure reading-acknowledged to alert-on-the-live-stream latency under ingest load", cmdBenchAlerts},
		{"triage classify", "classify JSON lines of citizen reports from stdin with the offline model (no server needed)", cmdTriageClassify},
		{"triage eval", "print the offline triage model's accuracy on the held-out reports (docs/triage.md)", cmdTriageEval},
		{"assess export", "print or export a period's assessment results (unit, score, grade, rank), computing them if needed", cmdAssessExport},
		{"assess recompute", "recompute a period's assessment with the latest indicator system version", cmdAssessRecompute},
		{"version", "print the version", cmdVersion},
	}
}
