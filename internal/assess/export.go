package assess

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/xuri/excelize/v2"
)

// Table returns the report as rows: a header, then one row per unit in ranking order
// (rank, unit code, name, total, grade, ranked or why not, cases, previous, delta, then
// every indicator's score).
func (r *Report) Table() [][]string {
	head := []string{"名次 rank", "单位代码 unit", "名称 name", "得分 score", "等级 grade", "排名说明 ranking", "案件量 cases", "上期得分 previous", "变化 delta"}
	for _, ind := range r.Indicators {
		head = append(head, ind.NameZH+" "+ind.NameEN)
	}
	rows := [][]string{head}
	for _, res := range r.Results {
		rank := "不排名 not ranked"
		if res.Ranked {
			rank = strconv.Itoa(res.Rank)
		}
		why := "参与排名 ranked"
		if !res.Ranked {
			why = res.Reason
		}
		row := []string{rank, res.Unit, res.NameZH, num(res.Total), res.Grade, why, strconv.Itoa(res.Cases), optNum(res.Previous), optNum(res.Delta)}
		scores := map[string]IndicatorScore{}
		for _, is := range res.Indicators {
			scores[is.ID] = is
		}
		for _, ind := range r.Indicators {
			is, ok := scores[ind.ID]
			if !ok || is.NoData {
				row = append(row, "无数据 no data")
				continue
			}
			row = append(row, num(is.Score))
		}
		rows = append(rows, row)
	}
	return rows
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func optNum(v *float64) string {
	if v == nil {
		return ""
	}
	return num(*v)
}

// WriteCSV writes the report table as UTF-8 CSV with a byte-order mark (so spreadsheet
// programs read the Chinese correctly).
func (r *Report) WriteCSV(w io.Writer) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.WriteAll(r.Table()); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// WriteXLSX writes the report as an Excel workbook: a results sheet (numbers as numbers)
// and a sheet describing the system's indicators.
func (r *Report) WriteXLSX(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "考核结果"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	for i, row := range r.Table() {
		for j, cell := range row {
			ref, err := excelize.CoordinatesToCellName(j+1, i+1)
			if err != nil {
				return err
			}
			var v any = cell
			if i > 0 {
				if x, err := strconv.ParseFloat(cell, 64); err == nil {
					v = x
				}
			}
			if err := f.SetCellValue(sheet, ref, v); err != nil {
				return err
			}
		}
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err == nil {
		last, _ := excelize.CoordinatesToCellName(len(r.Table()[0]), 1)
		_ = f.SetCellStyle(sheet, "A1", last, bold)
	}
	_ = f.SetColWidth(sheet, "C", "C", 24)
	_ = f.SetColWidth(sheet, "F", "F", 40)
	const info = "指标说明"
	if _, err := f.NewSheet(info); err != nil {
		return err
	}
	_ = f.SetSheetRow(info, "A1", &[]any{"体系 system", fmt.Sprintf("%s %s (v%d)", r.System.NameZH, r.System.ID, r.System.Version)})
	_ = f.SetSheetRow(info, "A2", &[]any{"周期 period", r.Run.Period, "计算时间 computed", r.Run.ComputedAt.Format("2006-01-02 15:04 MST")})
	_ = f.SetSheetRow(info, "A4", &[]any{"指标 id", "上级 parent", "名称", "name", "权重 weight", "方向 direction", "平台指标 metric", "人工 manual", "计分 scoring"})
	for i, ind := range r.Indicators {
		cell, _ := excelize.CoordinatesToCellName(1, i+5)
		_ = f.SetSheetRow(info, cell, &[]any{ind.ID, ind.Parent, ind.NameZH, ind.NameEN, ind.Weight, string(ind.Direction), ind.Metric, ind.Manual, ind.Scoring.Kind})
	}
	return f.Write(w)
}
