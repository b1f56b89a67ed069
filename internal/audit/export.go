package audit

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// csvHeader names the export columns (Chinese first, English beside).
func csvHeader() []string {
	return []string{"序号 seq", "时间 time", "用户ID user_id", "用户名 username", "角色 role", "部门 dept", "区域 area",
		"设备 device", "操作 action", "数据集 dataset", "表 table", "行 rows", "行数 row_count", "列 columns", "决定 decision",
		"用途 purpose", "详情 detail"}
}

// csvRow renders one entry; cells that a spreadsheet would run as a formula are prefixed with '.
func csvRow(e *Entry) []string {
	detail := ""
	if len(e.Detail) > 0 {
		b, _ := json.Marshal(e.Detail) // map[string]string cannot fail
		detail = string(b)
	}
	row := []string{strconv.FormatInt(e.Seq, 10), e.Time.UTC().Format(time.RFC3339Nano), strconv.FormatInt(e.Actor.UserID, 10),
		e.Actor.Username, e.Actor.Role, e.Actor.Dept, e.Actor.Area, e.Actor.Device, e.Action, e.Object.Dataset, e.Object.Table,
		strings.Join(e.Object.Rows, ";"), strconv.FormatInt(e.Object.RowCount, 10), strings.Join(e.Object.Columns, ";"),
		e.Decision, e.Purpose, detail}
	for i, c := range row {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			row[i] = "'" + c
		}
	}
	return row
}

// Export writes the entries matching q (all pages, newest first) to w as CSV (UTF-8 with a BOM so
// spreadsheet programs read the Chinese correctly) and returns how many it wrote. The export is
// itself recorded first, as an ActionExport entry on dataset "audit_log" carrying the query, so
// an export that fails half-way is still on record.
func (l *Log) Export(ctx context.Context, q Query, w io.Writer) (int, error) {
	if _, err := l.Record(ctx, Entry{Action: ActionExport, Object: Object{Dataset: "audit_log"},
		Detail: map[string]string{"query": q.String(), "format": "csv"}}); err != nil {
		return 0, err
	}
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return 0, fmt.Errorf("audit: export: %w", err)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader()); err != nil {
		return 0, fmt.Errorf("audit: export: %w", err)
	}
	q.Limit = 1000
	n := 0
	for {
		p, err := l.Search(ctx, q)
		if err != nil {
			return n, err
		}
		for i := range p.Entries {
			if err := cw.Write(csvRow(&p.Entries[i])); err != nil {
				return n, fmt.Errorf("audit: export: %w", err)
			}
			n++
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return n, fmt.Errorf("audit: export: %w", err)
		}
		if p.Next == 0 {
			return n, nil
		}
		q.Before = p.Next
	}
}
