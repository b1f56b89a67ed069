package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/area"
	"github.com/citybrain/citybrain/internal/assess"
)

// openAssess opens the store and an assessment service over it (areas loaded from the
// database; live device status is not available outside the server).
func openAssess(ctx context.Context, cfg *config) (*assess.Service, func(), error) {
	db, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	areas := area.NewService(db, time.Now)
	if err := areas.Load(ctx); err != nil {
		db.Close()
		return nil, nil, err
	}
	svc := assess.NewService(assessConfig(db, areas.Map, time.Now, nil))
	if _, err := svc.ImportTemplates(ctx); err != nil {
		db.Close()
		return nil, nil, err
	}
	return svc, func() { db.Close() }, nil
}

func assessFlags(c *cli, name, usage string) (*config, *string, *string, *flag.FlagSet) {
	var cfg config
	fs := cfg.flagSet(name, false, c.stderr)
	system := fs.String("system", "wo-street", "indicator system id (citybrain ships wo-street, wo-dept, city-mgmt, device-health, data-sharing, maturity)")
	period := fs.String("period", "", "period: 2026-Q3, 2026-09, 2026 or 2026-07-01..2026-09-30 (default: the last complete quarter)")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, usage)
		fs.PrintDefaults()
	}
	return &cfg, system, period, fs
}

func defaultPeriod(svc *assess.Service, p string) string {
	if p != "" {
		return p
	}
	q, _ := svc.ParsePeriod(assess.Quarter(time.Now().In(svc.Location())))
	return q.Previous().Name
}

// cmdAssessExport prints a period's results (computing them first when none are stored).
func cmdAssessExport(ctx context.Context, c *cli) error {
	cfg, system, period, fs := assessFlags(c, "assess export", `Usage: citybrain assess export [--data DIR | --postgres URL] [--system ID] [--period P] [--format csv|xlsx] [--out FILE]

考核结果导出: prints unit, name, score, grade and rank (or 不排名 not ranked) per unit of a
period for an indicator system (default wo-street), computing the period first if it has no
stored results. --format csv writes to stdout (or --out FILE, then with every indicator's
score); --format xlsx needs --out FILE.

Flags:`)
	format := fs.String("format", "csv", "csv or xlsx")
	out := fs.String("out", "", "write to FILE instead of stdout (required for xlsx)")
	if err := cfg.parse(fs, c.args, c.env); err != nil {
		return err
	}
	if *format != "csv" && *format != "xlsx" {
		return &exitError{code: 2, msg: "--format must be csv or xlsx"}
	}
	if *format == "xlsx" && *out == "" {
		return &exitError{code: 2, msg: "--format xlsx needs --out FILE"}
	}
	svc, closeFn, err := openAssess(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeFn()
	rep, err := svc.Ensure(ctx, *system, defaultPeriod(svc, *period), "cli")
	if err != nil {
		if citybrain.ErrorCode(err) == citybrain.EINVALID || citybrain.ErrorCode(err) == citybrain.ENOTFOUND {
			return &exitError{code: 2, msg: err.Error()}
		}
		return err
	}
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		if *format == "xlsx" {
			err = rep.WriteXLSX(f)
		} else {
			err = rep.WriteCSV(f)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "%s %s: %d units written to %s\n", rep.System.ID, rep.Run.Period, len(rep.Results), *out)
		return nil
	}
	return writeCompactCSV(c.stdout, rep)
}

// writeCompactCSV prints unit, name, score, grade and rank per unit.
func writeCompactCSV(w io.Writer, rep *assess.Report) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"unit", "name", "score", "grade", "rank", "cases"})
	for _, r := range rep.Results {
		rank := "不排名 not ranked"
		if r.Ranked {
			rank = strconv.Itoa(r.Rank)
		}
		_ = cw.Write([]string{r.Unit, r.NameZH, strconv.FormatFloat(r.Total, 'f', 2, 64), r.Grade, rank, strconv.Itoa(r.Cases)})
	}
	cw.Flush()
	return cw.Error()
}

// cmdAssessRecompute recomputes a period with the latest system version.
func cmdAssessRecompute(ctx context.Context, c *cli) error {
	cfg, system, period, fs := assessFlags(c, "assess recompute", `Usage: citybrain assess recompute [--data DIR | --postgres URL] [--system ID] [--period P]

考核重算: brings the work-order facts up to date, recomputes the period with the latest
version of the indicator system and replaces that period's stored results (other periods
keep theirs). Prints the results like assess export.

Flags:`)
	if err := cfg.parse(fs, c.args, c.env); err != nil {
		return err
	}
	svc, closeFn, err := openAssess(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeFn()
	start := time.Now()
	rep, err := svc.Recompute(ctx, *system, defaultPeriod(svc, *period), "cli")
	if err != nil {
		if citybrain.ErrorCode(err) == citybrain.EINVALID || citybrain.ErrorCode(err) == citybrain.ENOTFOUND {
			return &exitError{code: 2, msg: err.Error()}
		}
		return err
	}
	fmt.Fprintf(c.stderr, "%s v%d %s recomputed in %s\n", rep.System.ID, rep.Run.Version, rep.Run.Period, time.Since(start).Round(time.Millisecond))
	return writeCompactCSV(c.stdout, rep)
}
