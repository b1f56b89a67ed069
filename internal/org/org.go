// Package org owns the district's organisations: the departments (委办局) with their codes,
// seeded from the embedded departments.tsv (copied from the project's taxonomy, never read
// from outside the binary at run time). It is read-only data and safe for concurrent use.
package org

import (
	_ "embed"
	"fmt"
	"strings"
)

//go:embed departments.tsv
var departmentsTSV string

// Department is a 委办局 or the street office.
type Department struct {
	Code   string `json:"code"`
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
	Duty   string `json:"duty"`
}

// Departments parses the embedded seed.
func Departments() ([]Department, error) {
	return ParseTSV(departmentsTSV)
}

// ParseTSV reads code, name_zh, name_en, duty rows with a header line.
func ParseTSV(s string) ([]Department, error) {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) < 1 || !strings.HasPrefix(lines[0], "code\t") {
		return nil, fmt.Errorf("departments: missing header line")
	}
	var out []Department
	for i, l := range lines[1:] {
		f := strings.Split(strings.TrimRight(l, "\r"), "\t")
		if len(f) < 3 || f[0] == "" {
			return nil, fmt.Errorf("departments line %d: want code, name_zh, name_en, duty", i+2)
		}
		d := Department{Code: f[0], NameZH: f[1], NameEN: f[2]}
		if len(f) > 3 {
			d.Duty = f[3]
		}
		out = append(out, d)
	}
	return out, nil
}
