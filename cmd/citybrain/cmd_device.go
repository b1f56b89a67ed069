package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/schollz/progressbar/v3"

	"github.com/citybrain/citybrain/internal/device"
)

// deviceService builds a registry over the store for the CLI (no broker: the running server
// reloads credentials from the store every few seconds, see wireDevices).
func deviceService(ctx context.Context, cfg *config) (*device.Service, func(), error) {
	db, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	ps, err := device.BuiltinProfiles()
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	svc := device.NewService(db, ps, device.NewCredentialCache(), device.NewStatusTracker(), nil)
	return svc, func() { db.Close() }, nil
}

func cmdDeviceImport(ctx context.Context, c *cli) error {
	var cfg config
	fs := cfg.flagSet("device import", false, c.stderr)
	secretsOut := fs.String("secrets", "", "write the new devices' credentials (id,username,password) to this CSV file instead of stdout")
	quiet := fs.Bool("quiet", false, "no progress bar")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, `Usage: citybrain device import [flags] FILE.csv

Registers the devices listed in FILE.csv (UTF-8 or GB18030). The first row names the columns:
  id,name,profile,area,lon,lat,address,facility,household,disabled
id and profile are required (profiles: GET /api/v1/profiles). Each new device gets a random
secret, printed once as CSV (id,username,password) on stdout or into --secrets FILE: keep it,
the platform stores only its hash. Rows that fail are reported with their line number and
skipped; the exit status is 1 when any row failed. A running server picks up imported devices
within 15 seconds.

Flags:`)
		fs.PrintDefaults()
	}
	flagArgs, args := splitArgs(fs, c.args)
	if err := cfg.parse(fs, flagArgs, c.env); err != nil {
		return err
	}
	if len(args) != 1 {
		fs.Usage()
		return &exitError{code: 2, msg: "device import needs exactly one FILE.csv"}
	}
	f, err := os.Open(args[0])
	if err != nil {
		return &exitError{code: 2, msg: fmt.Sprintf("cannot open %s: %v", args[0], err)}
	}
	defer f.Close()
	svc, closeFn, err := deviceService(ctx, &cfg)
	if err != nil {
		return err
	}
	defer closeFn()

	var out io.Writer = c.stdout
	if *secretsOut != "" {
		sf, err := os.OpenFile(*secretsOut, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return &exitError{code: 2, msg: fmt.Sprintf("cannot create %s: %v", *secretsOut, err)}
		}
		defer sf.Close()
		out = sf
	}
	cw := csv.NewWriter(out)
	_ = cw.Write([]string{"id", "username", "password"})
	var bar *progressbar.ProgressBar
	progress := func(done, total int) {
		if *quiet {
			return
		}
		if bar == nil {
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(c.stderr), progressbar.OptionSetDescription("导入设备 importing devices"),
				progressbar.OptionShowCount(), progressbar.OptionThrottle(100_000_000), progressbar.OptionClearOnFinish())
		}
		_ = bar.Set(done)
	}
	res, err := device.ImportCSV(ctx, svc, f, func(d device.Device, secret string) error {
		return cw.Write([]string{d.ID, d.ID, secret})
	}, progress)
	cw.Flush()
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return err
	}
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	fmt.Fprintf(c.stderr, "%d 行, 成功 %d, 失败 %d / %d rows, %d created, %d failed\n", res.Rows, res.Created, len(res.Errors), res.Rows, res.Created, len(res.Errors))
	for _, e := range res.Errors {
		fmt.Fprintf(c.stderr, "  line %d (%s): %s\n", e.Line, e.ID, e.Msg)
	}
	if len(res.Errors) > 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("%d rows failed", len(res.Errors))}
	}
	return nil
}

// splitArgs separates positional arguments from flags so that FILE may come before or after
// the flags (the flag package stops at the first positional argument).
func splitArgs(fs *flag.FlagSet, args []string) (flags, positional []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(positional, args[i+1:]...)
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		}
	}
	return flags, positional
}

func cmdDeviceExport(ctx context.Context, c *cli) error {
	var cfg config
	fs := cfg.flagSet("device export", false, c.stderr)
	outFile := fs.String("out", "", "write to this file instead of stdout")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: citybrain device export [--out FILE.csv]\n\nWrites every registered device as CSV (the columns device import reads; no secrets).\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := cfg.parse(fs, c.args, c.env); err != nil {
		return err
	}
	svc, closeFn, err := deviceService(ctx, &cfg)
	if err != nil {
		return err
	}
	defer closeFn()
	var out io.Writer = c.stdout
	if *outFile != "" {
		f, err := os.Create(*outFile)
		if err != nil {
			return &exitError{code: 2, msg: fmt.Sprintf("cannot create %s: %v", *outFile, err)}
		}
		defer f.Close()
		out = f
	}
	n, err := device.ExportCSV(ctx, svc, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "%d 台设备已导出 / %d devices exported\n", n, n)
	return nil
}
