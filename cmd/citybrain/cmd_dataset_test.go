package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func TestDatasetImportCommand(t *testing.T) {
	dir := t.TempDir()
	csv := "姓名,身份证号,手机号,住址,社区\n张三,11010519491231002X,13812345678,河西区滨江路88号,东湖社区\n李四,34052419800101001X,13900001111,河西区人民路1号,东湖社区\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(csv)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "residents.csv")
	if err := os.WriteFile(file, []byte(gb), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"dataset", "import", "--data", data, "--name", "residents", "--owner", "CIVIL_AFFAIRS", file}, nil, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	for _, want := range []string{"2 行 rows", "gb18030", "一般数据4级", "身份证号"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errb.String(), "100%") {
		t.Errorf("no progress bar on stderr: %q", errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := run(context.Background(), []string{"dataset", "import", "--data", data, "--name", "residents", "--owner", "CIVIL_AFFAIRS", file}, nil, nil, &out, &errb); code == 0 {
		t.Errorf("second import of the same name succeeded")
	}
	if code := run(context.Background(), []string{"dataset", "import", "--data", data, "--owner", "CIVIL_AFFAIRS", file}, nil, nil, &out, &errb); code != 2 {
		t.Errorf("missing --name: exit %d", code)
	}
	out.Reset()
	if code := run(context.Background(), []string{"audit", "verify", "--data", data}, nil, nil, &out, &errb); code != 0 {
		t.Errorf("audit verify after import: exit %d %s", code, errb.String())
	}
}
