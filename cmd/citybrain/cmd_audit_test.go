package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/audit"
)

// seedAuditLog writes n audit entries into the SQLite database under dir, the way a running
// server does (same key file, same store), and returns the latest checkpoint.
func seedAuditLog(t *testing.T, dir string, n int) audit.Checkpoint {
	t.Helper()
	ctx := context.Background()
	cfg := &config{Data: dir}
	db, err := openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	keys, err := audit.LoadOrCreateKey(auditKeyPath(cfg), "")
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(ctx, audit.Config{Store: db, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		actx := citybrain.WithActor(ctx, &citybrain.Actor{UserID: int64(i%4 + 1), Username: fmt.Sprintf("worker%d", i%4), Role: citybrain.RoleWorker, Purpose: "入户走访"})
		if _, err := l.Record(actx, audit.Entry{Action: audit.ActionMask, Decision: "MASKED",
			Object: audit.Object{Dataset: "residents", Rows: []string{fmt.Sprint(1000 + i)}, Columns: []string{"身份证号", "手机号"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := db.LatestAuditCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, nil, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// sqlEdit changes the SQLite file directly, as someone with shell access to the server could.
func sqlEdit(t *testing.T, dir string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "citybrain.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestAuditVerifyCLI(t *testing.T) {
	tests := []struct {
		name  string
		stmts []string
		want  string // in stderr; "" means the log must verify
	}{
		{name: "untouched"},
		{name: "row modified with SQL", want: "first bad entry 42 (changed)", stmts: []string{
			`DROP TRIGGER audit_records_no_update`,
			`UPDATE audit_records SET data = REPLACE(data, '"MASKED"', '"FULL"') WHERE seq = 42`}},
		{name: "row deleted with SQL", want: "first bad entry 17 (missing)", stmts: []string{
			`DROP TRIGGER audit_records_no_delete`,
			`DELETE FROM audit_records WHERE seq = 17`}},
		{name: "rows swapped with SQL", want: "first bad entry 5 (moved)", stmts: []string{
			`DROP TRIGGER audit_records_no_update`,
			`UPDATE audit_records SET seq = -1 WHERE seq = 5`,
			`UPDATE audit_records SET seq = 5 WHERE seq = 60`,
			`UPDATE audit_records SET seq = 60 WHERE seq = -1`}},
		{name: "row inserted with SQL", want: "first bad entry 30", stmts: []string{
			`DROP TRIGGER audit_records_no_update`,
			`UPDATE audit_records SET seq = -seq - 1000 WHERE seq >= 30`,
			`UPDATE audit_records SET seq = -seq - 1000 + 1 WHERE seq <= -1000`,
			`INSERT INTO audit_records (seq, at, action, data, hashes) SELECT 30, at, action, REPLACE(REPLACE(data, '"seq":31,', '"seq":30,'), '"MASKED"', '"FULL"'), hashes FROM audit_records WHERE seq = 32`}},
		{name: "checkpoint signature altered", want: "signature", stmts: []string{
			`DROP TRIGGER audit_checkpoints_no_update`,
			`UPDATE audit_checkpoints SET note = REPLACE(note, 'citybrain-audit ', 'citybrain-audit A') WHERE id = (SELECT MAX(id) FROM audit_checkpoints)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cp := seedAuditLog(t, dir, 100)
			sqlEdit(t, dir, tt.stmts...)
			code, out, errs := runCLI("audit", "verify", "--data", dir)
			if tt.want == "" {
				if code != 0 {
					t.Fatalf("exit %d: %s", code, errs)
				}
				if !strings.Contains(out, "100 entries, signed size 100, root "+cp.Root.String()) {
					t.Fatalf("output does not give size and root: %s", out)
				}
				return
			}
			if code != 3 {
				t.Fatalf("exit %d, want 3; stdout %s stderr %s", code, out, errs)
			}
			if !strings.Contains(errs, tt.want) {
				t.Fatalf("stderr does not name it (%q):\n%s", tt.want, errs)
			}
		})
	}
}

func TestAuditCheckpointCLIAndTrustedRollback(t *testing.T) {
	dir := t.TempDir()
	seedAuditLog(t, dir, 50)
	code, note, errs := runCLI("audit", "checkpoint", "--data", dir)
	if code != 0 || !strings.Contains(note, "\n50\n") {
		t.Fatalf("checkpoint: %d %s %s", code, note, errs)
	}
	held := filepath.Join(t.TempDir(), "cp.txt")
	if err := os.WriteFile(held, []byte(note), 0o600); err != nil {
		t.Fatal(err)
	}
	// Cut the log back to 40 entries together with its checkpoints.
	sqlEdit(t, dir, `DROP TRIGGER audit_records_no_delete`, `DROP TRIGGER audit_checkpoints_no_delete`,
		`DELETE FROM audit_records WHERE seq >= 40`, `DELETE FROM audit_checkpoints WHERE size > 0`)
	if code, _, errs := runCLI("audit", "verify", "--data", dir, "--checkpoint", held); code != 3 || !strings.Contains(errs, "first bad entry 40") {
		t.Fatalf("rollback below a held checkpoint: exit %d %s", code, errs)
	}
	if code, _, errs := runCLI("audit", "verify", "--data", dir, "--key", filepath.Join(t.TempDir(), "none")); code != 1 || !strings.Contains(errs, "public key") {
		t.Fatalf("missing key: exit %d %s", code, errs)
	}
}
