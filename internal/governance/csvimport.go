package governance

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/citybrain/citybrain"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// Import limits.
const (
	MaxImportColumns = 200
	MaxCellRunes     = 4000
	SampleRows       = 500 // rows the detector looks at for suggestions
)

// CSVReader reads a department's CSV upload: UTF-8 (with or without BOM) or GB18030
// (what Excel on Chinese Windows writes), detected from the first 64 KiB. It is not
// safe for concurrent use.
type CSVReader struct {
	Encoding string // "utf-8" or "gb18030"
	Header   []string
	r        *csv.Reader
	line     int
}

// NewCSVReader detects the encoding, reads the header row and returns a reader for the
// data rows. Header names are trimmed; empty or duplicate names are a client error.
func NewCSVReader(in io.Reader) (*CSVReader, error) {
	br := bufio.NewReaderSize(in, 64<<10)
	head, err := br.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("read csv: %w", err)
	}
	c := &CSVReader{Encoding: "utf-8"}
	var src io.Reader = br
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		_, _ = br.Discard(3)
	case !validUTF8Prefix(head):
		c.Encoding = "gb18030"
		src = transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder())
	}
	c.r = csv.NewReader(src)
	c.r.FieldsPerRecord = -1
	c.r.LazyQuotes = true
	c.r.ReuseRecord = false
	hdr, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		return nil, citybrain.FieldError("file", "文件为空 the file is empty")
	}
	if err != nil {
		return nil, citybrain.FieldError("file", "无法解析CSV表头 cannot parse the CSV header: %v", err)
	}
	if len(hdr) > MaxImportColumns {
		return nil, citybrain.FieldError("file", "列数超过%d too many columns", MaxImportColumns)
	}
	seen := map[string]bool{}
	for i, h := range hdr {
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, citybrain.FieldError("file", "第%d列表头为空 column %d has no header", i+1, i+1)
		}
		if seen[h] {
			return nil, citybrain.FieldError("file", "表头重复 duplicate header %q", h)
		}
		seen[h] = true
		hdr[i] = h
	}
	c.Header = hdr
	c.line = 1
	return c, nil
}

// validUTF8Prefix reports whether b is valid UTF-8, allowing a rune cut at the end.
func validUTF8Prefix(b []byte) bool {
	for i := 0; i < 4 && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return true
		}
		b = b[:len(b)-1]
	}
	return utf8.Valid(b)
}

// Read returns the next data row aligned with the header (missing cells are empty,
// extra cells are an error), or io.EOF.
func (c *CSVReader) Read() ([]string, error) {
	for {
		rec, err := c.r.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, citybrain.FieldError("file", "CSV第%d行格式错误 malformed CSV at line %d: %v", c.line+1, c.line+1, err)
		}
		c.line++
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		if len(rec) > len(c.Header) {
			return nil, citybrain.FieldError("file", "第%d行列数多于表头 line %d has more cells than the header", c.line, c.line)
		}
		for len(rec) < len(c.Header) {
			rec = append(rec, "")
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
			if !utf8.ValidString(rec[i]) {
				rec[i] = strings.ToValidUTF8(rec[i], "\uFFFD")
			}
			if utf8.RuneCountInString(rec[i]) > MaxCellRunes {
				return nil, citybrain.FieldError("file", "第%d行单元格过长 line %d has a cell longer than %d characters", c.line, c.line, MaxCellRunes)
			}
		}
		return rec, nil
	}
}

// Line returns the number of the last line read (1 = header).
func (c *CSVReader) Line() int { return c.line }

// ColumnName turns a header into a column name: the header itself (Chinese headers are
// fine as JSON keys), trimmed.
func ColumnName(header string) string { return strings.TrimSpace(header) }
