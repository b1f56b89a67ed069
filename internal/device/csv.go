package device

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/citybrain/citybrain"
)

// CSVColumns are the columns of a device import or export file, in export order. An import
// file needs a header row naming at least id and profile; other columns may be left out.
func CSVColumns() []string {
	return []string{"id", "name", "profile", "area", "lon", "lat", "address", "facility", "household", "disabled"}
}

// RowError is the refusal of one row of an import file.
type RowError struct {
	Line int    `json:"line"` // 1-based line in the file (the header is line 1)
	ID   string `json:"id"`
	Code string `json:"code"`
	Msg  string `json:"message"`
}

// ImportResult reports an import.
type ImportResult struct {
	Rows    int        `json:"rows"`
	Created int        `json:"created"`
	Errors  []RowError `json:"errors"`
}

// ImportCSV registers the devices of a CSV file (UTF-8, with or without BOM, or GB18030 as
// saved by Excel on Chinese Windows). Each created device's secret is passed to created, the
// only time it is known. Bad rows are reported and skipped; the others are created. progress,
// if set, is called after each row with the count done and the total.
func ImportCSV(ctx context.Context, svc *Service, r io.Reader, created func(d Device, secret string) error, progress func(done, total int)) (ImportResult, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return ImportResult{}, fmt.Errorf("read csv: %w", err)
	}
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(raw) {
		dec, err := simplifiedchinese.GB18030.NewDecoder().Bytes(raw)
		if err != nil {
			return ImportResult{}, citybrain.Errorf(citybrain.EINVALID, "文件既不是UTF-8也不是GB18030 / the file is neither UTF-8 nor GB18030")
		}
		raw = dec
	}
	cr := csv.NewReader(bytes.NewReader(raw))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var records [][]string
	var lines []int
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return ImportResult{}, citybrain.Errorf(citybrain.EINVALID, "CSV格式错误 / malformed CSV: %v", err)
		}
		line, _ := cr.FieldPos(0)
		records, lines = append(records, rec), append(lines, line)
	}
	if len(records) == 0 {
		return ImportResult{}, citybrain.Errorf(citybrain.EINVALID, "文件为空 / the file is empty: the first row must name the columns (%s)", strings.Join(CSVColumns(), ","))
	}
	col := map[string]int{}
	for i, h := range records[0] {
		h = strings.ToLower(strings.TrimSpace(h))
		known := false
		for _, c := range CSVColumns() {
			if c == h {
				known = true
			}
		}
		if !known {
			return ImportResult{}, citybrain.Errorf(citybrain.EINVALID, "未知的列 %q / unknown column %q: columns are %s", h, h, strings.Join(CSVColumns(), ","))
		}
		col[h] = i
	}
	if _, ok := col["id"]; !ok {
		return ImportResult{}, citybrain.Errorf(citybrain.EINVALID, "缺少 id 列 / the header has no id column")
	}
	if _, ok := col["profile"]; !ok {
		return ImportResult{}, citybrain.Errorf(citybrain.EINVALID, "缺少 profile 列 / the header has no profile column")
	}
	rows := records[1:]
	res := ImportResult{Errors: []RowError{}}
	for i, rec := range rows {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		line := lines[i+1]
		get := func(name string) string {
			if j, ok := col[name]; ok && j < len(rec) {
				return strings.TrimSpace(rec[j])
			}
			return ""
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		res.Rows++
		fail := func(err error) {
			res.Errors = append(res.Errors, RowError{Line: line, ID: get("id"), Code: citybrain.ErrorCode(err), Msg: rowMessage(err)})
		}
		in := Input{ID: get("id"), Name: get("name"), Profile: get("profile"), Area: get("area"), Address: get("address"),
			Facility: get("facility"), Household: get("household")}
		var bad error
		for _, f := range []struct {
			name string
			dst  *float64
		}{{"lon", &in.Lon}, {"lat", &in.Lat}} {
			if s := get(f.name); s != "" {
				v, err := strconv.ParseFloat(s, 64)
				if err != nil {
					bad = citybrain.FieldError(f.name, "%s须为数字 / %s must be a number, got %q", f.name, f.name, s)
					break
				}
				*f.dst = v
			}
		}
		disabled := false
		if s := strings.ToLower(get("disabled")); s != "" {
			switch s {
			case "1", "true", "yes", "是":
				disabled = true
			case "0", "false", "no", "否":
			default:
				bad = citybrain.FieldError("disabled", "disabled须为true/false / disabled must be true or false, got %q", s)
			}
		}
		if bad != nil {
			fail(bad)
		} else if d, secret, err := svc.Create(ctx, in); err != nil {
			fail(err)
		} else {
			if disabled {
				if d, err = svc.SetDisabled(ctx, d.ID, true); err != nil {
					return res, err
				}
			}
			res.Created++
			if created != nil {
				if err := created(d, secret); err != nil {
					return res, err
				}
			}
		}
		if progress != nil {
			progress(i+1, len(rows))
		}
	}
	return res, nil
}

func rowMessage(err error) string {
	var e *citybrain.Error
	if errors.As(err, &e) {
		if e.Field != "" {
			return e.Field + ": " + e.Message
		}
		return e.Message
	}
	return err.Error()
}

// ExportCSV writes every device as CSV (no secrets).
func ExportCSV(ctx context.Context, svc *Service, w io.Writer) (int, error) {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVColumns()); err != nil {
		return 0, err
	}
	n, after := 0, ""
	for {
		ds, next, err := svc.List(ctx, Filter{After: after, Limit: MaxPage})
		if err != nil {
			return n, err
		}
		for _, d := range ds {
			if err := cw.Write([]string{d.ID, d.Name, d.Profile, d.Area, strconv.FormatFloat(d.Lon, 'f', -1, 64), strconv.FormatFloat(d.Lat, 'f', -1, 64),
				d.Address, d.Facility, d.Household, strconv.FormatBool(d.Disabled)}); err != nil {
				return n, err
			}
			n++
		}
		if next == "" {
			break
		}
		after = next
	}
	cw.Flush()
	return n, cw.Error()
}
