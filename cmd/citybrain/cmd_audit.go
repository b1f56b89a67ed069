package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/citybrain/citybrain/internal/audit"
)

// auditKeyPath is the checkpoint signing key under the data directory (created on first start;
// the public key sits beside it as .pub).
func auditKeyPath(cfg *config) string { return filepath.Join(cfg.Data, "audit-signing.key") }

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// auditVerifier loads the public key: --key FILE, else the .pub file, else the key file.
func auditVerifier(cfg *config, keyFile string) (*audit.Keys, error) {
	candidates := []string{keyFile}
	if keyFile == "" {
		candidates = []string{auditKeyPath(cfg) + ".pub", auditKeyPath(cfg)}
	}
	var firstErr error
	for _, p := range candidates {
		v, err := audit.ReadVerifierKey(p)
		if err == nil {
			return &audit.Keys{Verifier: v}, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, fmt.Errorf("cannot read the audit public key (give --key FILE; the server writes %s.pub on first start): %w", auditKeyPath(cfg), firstErr)
}

// cmdAuditVerify checks the whole audit log against its signed checkpoints. Exit 0: verified
// (size and root printed); 3: tampering found (the first bad entry named); 1: could not check.
func cmdAuditVerify(ctx context.Context, c *cli) error {
	var cfg config
	var keyFile string
	var trusted listFlag
	var progress bool
	fs := cfg.flagSet("audit verify", false, c.stderr)
	fs.StringVar(&keyFile, "key", "", "public key file of the checkpoint signer (default DATA/audit-signing.key.pub)")
	fs.Var(&trusted, "checkpoint", "a signed checkpoint kept outside the database (from `citybrain audit checkpoint`); repeatable")
	fs.BoolVar(&progress, "progress", false, "show a progress bar on stderr")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, `Usage: citybrain audit verify [--data DIR | --postgres URL] [--key FILE] [--checkpoint FILE]...

审计日志校验: re-reads every audit entry, recomputes the Merkle tree (RFC 6962) and checks it
against every signed checkpoint (Ed25519). Exits 0 and prints the verified size and root when
the log is intact; exits 3 naming the first bad entry when any entry was changed, removed,
inserted or reordered, or a checkpoint signature is broken; exits 1 when it cannot check.
Checkpoints saved earlier with `+"`citybrain audit checkpoint`"+` and given with --checkpoint also
catch a log cut back together with its checkpoint table.

Flags:`)
		fs.PrintDefaults()
	}
	if err := cfg.parse(fs, c.args, c.env); err != nil {
		return err
	}
	keys, err := auditVerifier(&cfg, keyFile)
	if err != nil {
		return err
	}
	var notes [][]byte
	for _, p := range trusted {
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("--checkpoint: %w", err)
		}
		notes = append(notes, b)
	}
	db, err := openStore(ctx, &cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	opts := audit.VerifyOptions{Verifier: keys.Verifier, Trusted: notes, Chunk: 10000}
	var bar *progressbar.ProgressBar
	if progress {
		opts.Progress = func(done, total int64) {
			if bar == nil {
				bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(c.stderr),
					progressbar.OptionSetDescription("校验审计日志 verifying"), progressbar.OptionShowCount(),
					progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
			}
			_ = bar.Set64(min(done, total))
		}
	}
	start := time.Now()
	rep, err := audit.Verify(ctx, db, opts)
	if bar != nil {
		_ = bar.Finish()
	}
	var te *audit.TamperError
	if errors.As(err, &te) {
		var b strings.Builder
		b.WriteString(err.Error())
		for i, p := range rep.Problems {
			if i == 20 {
				fmt.Fprintf(&b, "\n  ... %d more", len(rep.Problems)-i)
				break
			}
			fmt.Fprintf(&b, "\n  - %s", p.Kind)
			if p.Entry >= 0 {
				fmt.Fprintf(&b, " entry %d", p.Entry)
			}
			fmt.Fprintf(&b, ": %s", p.Message)
		}
		return &exitError{code: 3, msg: b.String()}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "审计日志完好 / audit log verified: %d entries, signed size %d, root %s\n", rep.Size, rep.Signed.N, rep.Signed.Hash)
	if !rep.SignedTime.IsZero() {
		fmt.Fprintf(c.stdout, "latest checkpoint signed at %s; %d checkpoints checked", rep.SignedTime.Format(time.RFC3339), rep.Checkpoints)
	} else {
		fmt.Fprintf(c.stdout, "%d checkpoints checked", rep.Checkpoints)
	}
	if rep.Unsigned > 0 {
		fmt.Fprintf(c.stdout, "; %d newer entries match their stored hashes but are not signed yet (root %s)", rep.Unsigned, rep.Root)
	}
	fmt.Fprintf(c.stdout, "; took %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// cmdAuditCheckpoint prints the latest signed checkpoint, for an auditor to keep outside the
// database and pass to `audit verify --checkpoint` later.
func cmdAuditCheckpoint(ctx context.Context, c *cli) error {
	var cfg config
	fs := cfg.flagSet("audit checkpoint", false, c.stderr)
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, `Usage: citybrain audit checkpoint [--data DIR | --postgres URL] > checkpoint.txt

Prints the latest signed audit checkpoint (a signed note: size and Merkle root). Keep it outside
the database; `+"`citybrain audit verify --checkpoint checkpoint.txt`"+` then also proves the log
still extends it.

Flags:`)
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
	cp, err := db.LatestAuditCheckpoint(ctx)
	if err != nil {
		return err
	}
	_, err = c.stdout.Write(cp.Note)
	return err
}
