package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/access"
)

func cmdServe(ctx context.Context, c *cli) error { return serveCommand(ctx, c, "serve", false) }

func cmdDemo(ctx context.Context, c *cli) error { return serveCommand(ctx, c, "demo", true) }

func serveCommand(ctx context.Context, c *cli, name string, demo bool) error {
	var cfg config
	fs := cfg.flagSet(name, true, c.stderr)
	fs.Usage = func() {
		if demo {
			fmt.Fprintln(c.stderr, "Usage: citybrain demo [flags]\n\nRuns the platform with the synthetic demo district (合成示例区), demo users, simulated\ndevices and history, on embedded storage by default.\n\nFlags:")
		} else {
			fmt.Fprintln(c.stderr, "Usage: citybrain serve [flags]\n\nRuns the platform: HTTP API and web UI, MQTT broker, rules, work orders.\nOn first start on an empty store it creates the administrator \"admin\".\n\nFlags:")
		}
		fs.PrintDefaults()
	}
	if err := cfg.parse(fs, c.args, c.env); err != nil {
		return err
	}
	if demo {
		explicit := false
		fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "mqtt" })
		if !explicit {
			cfg.MQTT = demoMQTTAddr(cfg.MQTT, c.stdout)
		}
	}
	a, err := start(ctx, &cfg, demo, c.stdout, c.stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "citybrain %s listening on %s\n", Version, addrURL(a.httpLn.Addr()))
	return a.serve(ctx)
}

func cmdMigrate(ctx context.Context, c *cli) error {
	var cfg config
	fs := cfg.flagSet("migrate", false, c.stderr)
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: citybrain migrate [--data DIR | --postgres URL]\n\nApplies the embedded migrations that are not applied yet and prints the schema version.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := cfg.parse(fs, c.args, c.env); err != nil {
		return err
	}
	db, err := openStore(ctx, &cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "schema version %d (%s)\n", v, db.Dialect)
	return nil
}

func cmdUserAdd(ctx context.Context, c *cli) error {
	var cfg config
	var in access.NewUser
	fs := cfg.flagSet("user add", false, c.stderr)
	fs.StringVar(&in.Username, "username", "", "username (required)")
	fs.StringVar(&in.DisplayName, "name", "", "display name")
	fs.StringVar(&in.Role, "role", "", "role: "+strings.Join(citybrain.Roles(), ", ")+" (required)")
	fs.StringVar(&in.Department, "department", "", "department code (required for dept)")
	fs.StringVar(&in.Area, "area", "", "area code (required for worker)")
	fs.IntVar(&in.Clearance, "clearance", 0, "data clearance 1–5 (default: the role's — admin 4, operator and dept 3, worker and auditor 2, citizen 1)")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: citybrain user add --username NAME --role ROLE [flags]\n\nAdds a user. The password is read from CITYBRAIN_USER_PASSWORD or, if unset, generated and printed once.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := cfg.parse(fs, c.args, c.env); err != nil {
		return err
	}
	in.Password = c.env["CITYBRAIN_USER_PASSWORD"]
	generated := in.Password == ""
	if generated {
		in.Password = access.NewSecret(12)
	}
	db, err := openStore(ctx, &cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := access.NewService(db, citybrain.SystemClock{}, access.Config{})
	u, err := svc.CreateUser(ctx, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "user %s (id %d, role %s) created\n", u.Username, u.ID, u.Role)
	if generated {
		fmt.Fprintf(c.stdout, "password: %s (shown once)\n", in.Password)
	}
	return nil
}

func cmdTokenCreate(ctx context.Context, c *cli) error {
	var cfg config
	var username, name string
	var ttl string
	fs := cfg.flagSet("token create", false, c.stderr)
	fs.StringVar(&username, "user", "admin", "the user the token acts as")
	fs.StringVar(&name, "name", "cli", "a name for the token")
	fs.StringVar(&ttl, "ttl", "", "lifetime such as 720h; empty never expires")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: citybrain token create [--user NAME] [--name N] [--ttl 720h]\n\nCreates an API token and prints its secret once (use it as Authorization: Bearer SECRET).\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := cfg.parse(fs, c.args, c.env); err != nil {
		return err
	}
	d, err := parseDuration("ttl", ttl)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, &cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := db.UserByUsername(ctx, strings.ToLower(username))
	if err != nil {
		return err
	}
	svc := access.NewService(db, citybrain.SystemClock{}, access.Config{})
	_, secret, err := svc.CreateToken(ctx, u.ID, name, d)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, secret)
	return nil
}

func cmdVersion(ctx context.Context, c *cli) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() { fmt.Fprintln(c.stderr, "Usage: citybrain version\n\nPrints the version of this binary.") }
	if err := fs.Parse(c.args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return err
	}
	fmt.Fprintf(c.stdout, "citybrain %s\n", Version)
	return nil
}

// demoMQTTAddr keeps the default MQTT port for the demo when it is free. When another broker
// already holds it (Mosquitto often runs on 1883), the demo moves to the next free port
// from 1884 and says so, instead of failing: `serve` never does this, and --mqtt always wins.
func demoMQTTAddr(addr string, out io.Writer) string {
	if ln, err := net.Listen("tcp", addr); err == nil {
		ln.Close()
		return addr
	}
	host, _, _ := net.SplitHostPort(addr)
	for p := 1884; p < 1900; p++ {
		alt := net.JoinHostPort(host, strconv.Itoa(p))
		if ln, err := net.Listen("tcp", alt); err == nil {
			ln.Close()
			fmt.Fprintf(out, "MQTT 端口 %s 已被占用，演示改用 %s / MQTT port %s is taken (another broker?): the demo listens on %s instead (set --mqtt to choose)\n", addr, alt, addr, alt)
			return alt
		}
	}
	return addr
}
