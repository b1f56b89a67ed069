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
		{"version", "print the version", cmdVersion},
	}
}
