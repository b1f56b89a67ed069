// Command citybrain is the city operating platform (城市大脑) in one binary: the server, the
// demo district, migrations, user and token administration, imports, verification tools and
// benchmarks. main only adapts the process to run, which tests call directly.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr)
	os.Exit(code)
}

// cli is what a command receives: its arguments and the process's streams and environment.
type cli struct {
	args   []string
	env    map[string]string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one subcommand.
type command struct {
	name    string // may contain a space: "token create"
	summary string
	run     func(ctx context.Context, c *cli) error
}

// exitError carries a specific exit status.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func run(ctx context.Context, args []string, environ []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	// Longest match first: "token create" before "token".
	var cmd *command
	var rest []string
	for i := range cmds {
		parts := strings.Fields(cmds[i].name)
		if len(args) >= len(parts) && strings.Join(args[:len(parts)], " ") == cmds[i].name {
			if cmd == nil || len(strings.Fields(cmd.name)) < len(parts) {
				cmd = &cmds[i]
				rest = args[len(parts):]
			}
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "citybrain: unknown command %q\n\n", strings.Join(args, " "))
		usage(stderr, cmds)
		return 2
	}
	err := cmd.run(ctx, &cli{args: rest, env: env, stdin: stdin, stdout: stdout, stderr: stderr})
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exitError); ok {
		if ee.msg != "" {
			fmt.Fprintln(stderr, ee.msg)
		}
		return ee.code
	}
	if err == errHelp {
		return 0
	}
	fmt.Fprintf(stderr, "citybrain %s: %v\n", cmd.name, err)
	return 1
}

func usage(w io.Writer, cmds []command) {
	fmt.Fprintln(w, "citybrain — 城市大脑 city operating platform")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: citybrain COMMAND [flags]   (citybrain COMMAND --help for its flags)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-18s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Every flag can also be set as CITYBRAIN_<FLAG> in the environment (e.g. CITYBRAIN_HTTP=:9090)")
	fmt.Fprintln(w, "or in a YAML file given with --config. Flags win over the environment, which wins over the file.")
}
