package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/audit"
	"github.com/citybrain/citybrain/internal/governance"
	"github.com/schollz/progressbar/v3"
)

// cmdDatasetImport imports a department's CSV file as a governed dataset, with a
// progress bar, and prints the suggested classification for the owner to confirm.
func cmdDatasetImport(ctx context.Context, c *cli) error {
	var cfg config
	var name, owner, title, sharing, reason string
	var quiet bool
	fs := cfg.flagSet("dataset import", false, c.stderr)
	fs.StringVar(&name, "name", "", "dataset name (required; no spaces, / or .)")
	fs.StringVar(&owner, "owner", "", "owner department code, e.g. CIVIL_AFFAIRS (required)")
	fs.StringVar(&title, "title", "", "human title, e.g. 河西区居民名单")
	fs.StringVar(&sharing, "sharing", "conditional", "sharing attribute: unconditional, conditional or none (无条件共享/有条件共享/不予共享)")
	fs.StringVar(&reason, "reason", "", "reason or legal basis, required for conditional and none")
	fs.BoolVar(&quiet, "quiet", false, "no progress bar")
	fs.Usage = func() {
		fmt.Fprint(c.stderr, `Usage: citybrain dataset import --name N --owner DEPT [flags] FILE.csv

导入数据集 Imports a CSV file (UTF-8, UTF-8 with BOM or GB18030 as Excel writes it; the
encoding is detected) as a dataset owned by the department. The first row is the header.
Every column gets a suggested class and grade (GB/T 43697-2024: 一般1..一般4, 重要, 核心)
from its header and values (ID numbers, phones, names, addresses, health terms...);
the owner confirms or changes them in the catalog (PATCH /api/v1/datasets/NAME).
Until then other departments see the data per the suggested grades: masked or not at all.
The import is recorded in the audit log. Run it against the platform's data directory
or PostgreSQL (--data / --postgres), preferably while citybrain serve is stopped.

Flags:
`)
		fs.PrintDefaults()
	}
	pos, rest := splitFileArg(fs, c.args)
	if err := cfg.parse(fs, rest, c.env); err != nil {
		return err
	}
	if pos == "" && fs.NArg() > 0 {
		pos = fs.Arg(0)
	}
	if pos == "" || name == "" || owner == "" {
		fs.Usage()
		return &exitError{code: 2, msg: "citybrain dataset import: 须指定 --name、--owner 和 CSV 文件 / give --name, --owner and the CSV file"}
	}
	f, err := os.Open(pos)
	if err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("citybrain dataset import: 无法打开文件 / cannot open %s: %v", pos, err)}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	db, err := openStore(ctx, &cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	keys, err := audit.LoadOrCreateKey(auditKeyPath(&cfg), "")
	if err != nil {
		return fmt.Errorf("audit key: %w", err)
	}
	l, err := audit.Open(ctx, audit.Config{Store: db, Keys: keys, Retention: cfg.AuditRetention})
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = l.Close(cctx)
	}()
	svc, err := newGovernance(ctx, &cfg, db, l, time.Now, nil)
	if err != nil {
		return err
	}
	var bar *progressbar.ProgressBar
	var r io.Reader = f
	if !quiet {
		bar = progressbar.NewOptions64(st.Size(), progressbar.OptionSetWriter(c.stderr), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription("导入 importing "+name), progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(c.stderr) }))
		pr := progressbar.NewReader(f, bar)
		r = &pr
	}
	cli := &citybrain.Actor{Username: "cli", Role: citybrain.RoleAdmin, Department: owner}
	ctx = citybrain.WithActor(ctx, cli)
	res, err := svc.Import(ctx, cli, governance.ImportInput{Name: name, Title: title, Owner: owner, Sharing: sharing, SharingReason: reason},
		r, func(n int64) {
			if bar != nil {
				bar.Describe(fmt.Sprintf("导入 importing %s: %d 行 rows", name, n))
			}
		})
	if err != nil {
		return &exitError{code: 1, msg: "citybrain dataset import: " + citybrain.ErrorMessage(err) + fieldSuffix(err)}
	}
	if bar != nil {
		_ = bar.Finish()
	}
	fmt.Fprintf(c.stdout, "已导入 imported %s: %d 行 rows, %s, 数据集级别 dataset grade %s (%s), %s\n",
		res.Dataset.Name, res.Rows, res.Encoding, res.Dataset.Grade().ZH(), res.Dataset.Grade(), res.Dataset.Sharing.ZH())
	fmt.Fprintf(c.stdout, "%-16s %-10s %-14s %-12s %s\n", "列 column", "个人信息 PI", "分类 category", "级别 grade", "依据 reason")
	for _, s := range res.Suggestions {
		fmt.Fprintf(c.stdout, "%-16s %-10s %-14s %-12s %s\n", s.Column, s.PIKind.ZH(), s.Category.ZH(), s.Grade.ZH(), s.Reason)
	}
	fmt.Fprintln(c.stdout, "请数据所有部门在数据目录中确认分类分级 the owner confirms the classification in the catalog")
	return nil
}

func fieldSuffix(err error) string {
	if f := citybrain.ErrorField(err); f != "" && !strings.Contains(citybrain.ErrorMessage(err), f) {
		return " (" + f + ")"
	}
	return ""
}
