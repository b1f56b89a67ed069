package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// config is the platform's configuration. Each field has a flag; CITYBRAIN_<FLAG> in the
// environment and keys of a YAML --config file set the same values.
type config struct {
	ConfigFile  string
	Data        string
	HTTP        string
	Postgres    string
	NATS        string
	ClusterName string // bus subject prefix of this deployment on a shared NATS server
	Node        string // this node's name in a cluster
	MQTT        string
	MQTTTLS     string // "cert.pem,key.pem" enables TLS on the MQTT listener
	MQTTTLSAddr string
	MaxPayload  int
	LogLevel    string
	LogFormat   string
	Secure      bool

	// Telemetry retention.
	RawRetention    time.Duration
	RollupRetention time.Duration
	// Audit retention (at least 6 months, Cybersecurity Law art. 21).
	AuditRetention time.Duration
	// EscalateAfter is how long a critical alert may stay unacknowledged before it escalates.
	EscalateAfter time.Duration

	// The assistant's optional OpenAI-compatible model.
	LLMURL     string
	LLMModel   string
	LLMKey     string
	LLMTimeout time.Duration

	// Demo options.
	SimDevices int
	SimRate    float64
	SimSpeed   float64

	// From the environment only.
	AdminPassword string
	AdminToken    string
}

var errHelp = errors.New("help shown")

// flagSet declares the flags shared by serve and demo (and the commands that open the store).
func (c *config) flagSet(name string, serverFlags bool, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.ConfigFile, "config", "", "YAML file with settings (keys are flag names)")
	fs.StringVar(&c.Data, "data", "./citybrain-data", "directory for embedded storage (SQLite), keys and uploads")
	fs.StringVar(&c.Postgres, "postgres", "", "PostgreSQL URL; when set, data is stored there instead of SQLite")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	if serverFlags {
		fs.StringVar(&c.HTTP, "http", ":8080", "HTTP listen address for the API and the UI")
		fs.StringVar(&c.NATS, "nats", "", "external NATS URL (cluster mode); empty runs NATS in-process")
		fs.StringVar(&c.ClusterName, "cluster-name", "", "NATS subject prefix shared by the nodes of one deployment, so deployments on one NATS server stay apart (empty: none)")
		fs.StringVar(&c.Node, "node", "", "this node's name in a cluster (keys its MQTT sessions; default HOSTNAME-HTTPPORT)")
		fs.StringVar(&c.MQTT, "mqtt", ":1883", "MQTT listen address for devices; \"off\" disables it")
		fs.StringVar(&c.MQTTTLS, "mqtt-tls", "", "CERT.pem,KEY.pem: also serve MQTT over TLS on --mqtt-tls-addr")
		fs.StringVar(&c.MQTTTLSAddr, "mqtt-tls-addr", ":8883", "MQTT over TLS listen address (with --mqtt-tls)")
		fs.IntVar(&c.MaxPayload, "max-payload", 64<<10, "largest accepted device message in bytes")
		fs.BoolVar(&c.Secure, "secure-cookies", false, "always mark session cookies Secure (set behind an HTTPS proxy)")
		fs.DurationVar(&c.RawRetention, "raw-retention", 30*24*time.Hour, "how long raw telemetry points are kept")
		fs.DurationVar(&c.RollupRetention, "rollup-retention", 2*365*24*time.Hour, "how long per-minute and per-hour rollups are kept")
		fs.DurationVar(&c.AuditRetention, "audit-retention", 183*24*time.Hour, "how long audit entries are kept at least (≥ 6 months)")
		fs.DurationVar(&c.EscalateAfter, "escalate-after", 15*time.Minute, "escalate a critical alert left unacknowledged this long (and again after each further period)")
		fs.StringVar(&c.LLMURL, "llm-url", "", "OpenAI-compatible base URL for the assistant; empty works offline")
		fs.StringVar(&c.LLMModel, "llm-model", "", "model name for --llm-url")
		fs.StringVar(&c.LLMKey, "llm-key", "", "API key for --llm-url")
		fs.DurationVar(&c.LLMTimeout, "llm-timeout", 10*time.Second, "time limit for a model call before the offline path answers")
		fs.IntVar(&c.SimDevices, "sim-devices", 2000, "demo: number of simulated devices (0 disables the simulator)")
		fs.Float64Var(&c.SimRate, "sim-rate", 200, "demo: total simulated messages per second")
		fs.Float64Var(&c.SimSpeed, "sim-speed", 1, "demo: run the scenario (rainstorm, silent household, leaks) and the demo rules' windows this many times faster (≥ 1)")
	}
	return fs
}

// parse applies the file, then the environment, then the command line.
func (c *config) parse(fs *flag.FlagSet, args []string, env map[string]string) error {
	// Find --config first (flag or env) so the file can be read before the flags win.
	file := env["CITYBRAIN_CONFIG"]
	for i, a := range args {
		if a == "--config" || a == "-config" {
			if i+1 < len(args) {
				file = args[i+1]
			}
		} else if v, ok := strings.CutPrefix(a, "--config="); ok {
			file = v
		}
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("--config: %w", err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("--config %s: %w", file, err)
		}
		for k, v := range m {
			if fs.Lookup(k) == nil {
				return fmt.Errorf("--config %s: unknown setting %q", file, k)
			}
			if err := fs.Set(k, fmt.Sprint(v)); err != nil {
				return fmt.Errorf("--config %s: %s: %w", file, k, err)
			}
		}
	}
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		key := "CITYBRAIN_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := env[key]; ok {
			if err := fs.Set(f.Name, v); err != nil && envErr == nil {
				envErr = fmt.Errorf("%s: %w", key, err)
			}
		}
	})
	if envErr != nil {
		return envErr
	}
	if v := env["CITYBRAIN_POSTGRES_URL"]; v != "" && c.Postgres == "" {
		c.Postgres = v
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.AdminPassword = env["CITYBRAIN_ADMIN_PASSWORD"]
	c.AdminToken = env["CITYBRAIN_ADMIN_TOKEN"]
	return nil
}
