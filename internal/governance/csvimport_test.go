package governance

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func TestCSVReaderEncodings(t *testing.T) {
	text := "姓名,身份证号,手机号,住址\n张三,11010519491231002X,13812345678,河西区滨江路88号\n欧阳娜娜,34052419800101001X,13900001111,河西区人民路1号\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, data, enc string
	}{
		{"utf8", text, "utf-8"},
		{"utf8-bom", "\xEF\xBB\xBF" + text, "utf-8"},
		{"gb18030", gb, "gb18030"},
		{"crlf", strings.ReplaceAll(text, "\n", "\r\n"), "utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCSVReader(strings.NewReader(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if c.Encoding != tt.enc {
				t.Errorf("encoding %s, want %s", c.Encoding, tt.enc)
			}
			if strings.Join(c.Header, "|") != "姓名|身份证号|手机号|住址" {
				t.Errorf("header %q", c.Header)
			}
			var rows [][]string
			for {
				r, err := c.Read()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				rows = append(rows, r)
			}
			if len(rows) != 2 || rows[1][0] != "欧阳娜娜" || rows[0][3] != "河西区滨江路88号" {
				t.Errorf("rows %q", rows)
			}
		})
	}
}

func TestCSVReaderErrors(t *testing.T) {
	for _, data := range []string{"", "a,,b\n", "a,a\n", "a,b\n1,2,3\n"} {
		c, err := NewCSVReader(strings.NewReader(data))
		if err == nil {
			_, err = c.Read()
		}
		if err == nil || errors.Is(err, io.EOF) {
			t.Errorf("%q: no client error (%v)", data, err)
		}
	}
}

// FuzzCSVReader feeds arbitrary uploads to the reader: it must never panic and must
// return valid UTF-8 cells.
func FuzzCSVReader(f *testing.F) {
	f.Add([]byte("姓名,电话\n张三,13812345678\n"))
	f.Add([]byte("\xEF\xBB\xBFa,b\n\"x\"\"y\",z\n"))
	f.Add([]byte{0xD5, 0xC5, 0xC8, 0xFD, ',', 'a', '\n', '1', ',', '2'})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := NewCSVReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i := 0; i < 1000; i++ {
			rec, err := c.Read()
			if err != nil {
				return
			}
			for _, cell := range rec {
				if !strings.Contains(cell, "\uFFFD") && !isValid(cell) {
					t.Fatalf("invalid UTF-8 cell %q", cell)
				}
			}
		}
	})
}

func isValid(s string) bool { return strings.ToValidUTF8(s, "") == s }
