package assess

import (
	"fmt"
	"html/template"
	"io"
	"strings"
)

// reportTemplate is the printable report: a summary, a bar chart of the totals, a grade
// distribution, the ranking table and the indicator definitions. Charts are inline SVG so
// the page prints and works offline.
const reportTemplate = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{{.R.System.NameZH}} · {{.R.Run.Period}} 考核报告</title>
<style>
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px;color:#222}
h1{font-size:22px;margin:0 0 4px} h2{font-size:16px;border-bottom:2px solid #1e3a5f;padding-bottom:4px;margin-top:28px}
.meta{color:#666;font-size:12px} table{border-collapse:collapse;width:100%;font-size:12px;margin-top:8px}
th,td{border:1px solid #ccc;padding:4px 6px;text-align:left} th{background:#eef2f7}
td.n{text-align:right} .up{color:#0a7d32} .down{color:#c62828} .nr{color:#888}
@media print{.noprint{display:none} body{margin:8mm} h2{page-break-after:avoid} table{page-break-inside:auto} tr{page-break-inside:avoid}}
</style></head><body>
<p class="noprint"><button onclick="window.print()">打印 / Print</button></p>
<h1>{{.R.System.NameZH}}（{{.R.Run.Period}}）考核报告</h1>
<div class="meta">{{.R.System.NameEN}} · {{.R.System.ID}} v{{.R.Run.Version}} · 计算于 computed {{.R.Run.ComputedAt.Format "2006-01-02 15:04 UTC"}} · 考核对象 {{len .R.Results}} 个 · 最低案件量 {{.R.MinCases}}</div>
<h2>一、得分概览 Scores</h2>
{{.Bars}}
<h2>二、等级分布 Grades</h2>
{{.Grades}}
<h2>三、排名表 Ranking</h2>
<table><tr><th>名次</th><th>单位</th><th>得分</th><th>等级</th><th>案件量</th><th>较上期</th>{{range .R.Indicators}}<th>{{.NameZH}}</th>{{end}}</tr>
{{range .Rows}}<tr><td>{{if .Ranked}}{{.Rank}}{{else}}<span class="nr" title="{{.Reason}}">不排名</span>{{end}}</td><td>{{.Name}}</td><td class="n">{{.Total}}</td><td>{{.Grade}}</td><td class="n">{{.Cases}}</td><td class="n">{{.Delta}}</td>{{range .Scores}}<td class="n">{{.}}</td>{{end}}</tr>
{{end}}</table>
<p class="meta">不排名：案件量少于 {{.R.MinCases}} 的单位只评分不排名，避免偶然因素。Units with fewer than {{.R.MinCases}} cases are scored but not ranked.</p>
<h2>四、指标说明 Indicators</h2>
<table><tr><th>指标</th><th>Indicator</th><th>上级</th><th>权重</th><th>平台指标 / 人工</th><th>计分</th></tr>
{{range .R.Indicators}}<tr><td>{{.NameZH}}</td><td>{{.NameEN}}</td><td>{{.Parent}}</td><td class="n">{{.Weight}}</td><td>{{if .Manual}}人工录入（附佐证）{{else}}{{.Metric}}{{end}}</td><td>{{.Scoring.Kind}}</td></tr>
{{end}}</table>
</body></html>`

type reportRow struct {
	Ranked                     bool
	Rank                       int
	Reason, Name, Grade, Delta string
	Total                      string
	Cases                      int
	Scores                     []string
}

// WriteHTML writes a printable HTML report with inline SVG charts.
func (r *Report) WriteHTML(w io.Writer) error {
	t, err := template.New("report").Parse(reportTemplate)
	if err != nil {
		return err
	}
	var rows []reportRow
	for _, res := range r.Results {
		row := reportRow{Ranked: res.Ranked, Rank: res.Rank, Reason: res.Reason, Name: nameOf(res), Grade: res.Grade, Total: num(res.Total), Cases: res.Cases}
		if res.Delta != nil {
			switch {
			case *res.Delta > 0:
				row.Delta = "▲ " + num(*res.Delta)
			case *res.Delta < 0:
				row.Delta = "▼ " + num(-*res.Delta)
			default:
				row.Delta = "—"
			}
		}
		sc := map[string]IndicatorScore{}
		for _, is := range res.Indicators {
			sc[is.ID] = is
		}
		for _, ind := range r.Indicators {
			if is, ok := sc[ind.ID]; ok && !is.NoData {
				row.Scores = append(row.Scores, num(is.Score))
			} else {
				row.Scores = append(row.Scores, "—")
			}
		}
		rows = append(rows, row)
	}
	return t.Execute(w, map[string]any{"R": r, "Rows": rows, "Bars": template.HTML(r.barsSVG()), "Grades": template.HTML(r.gradesSVG())})
}

func nameOf(res Result) string {
	if res.NameZH != "" && res.NameZH != res.Unit {
		return res.NameZH
	}
	return res.Unit
}

func gradeColor(g string) string {
	switch g {
	case "A":
		return "#2e7d32"
	case "B":
		return "#689f38"
	case "C":
		return "#f9a825"
	case "D":
		return "#ef6c00"
	}
	return "#c62828"
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// barsSVG draws one horizontal bar per unit (0–100), coloured by grade.
func (r *Report) barsSVG() string {
	const rowH, left, width = 22, 160, 460
	h := rowH*len(r.Results) + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-size="12">`, left+width+60, h)
	for x := 0; x <= 100; x += 20 {
		px := left + width*x/100
		fmt.Fprintf(&b, `<line x1="%d" y1="0" x2="%d" y2="%d" stroke="#ddd"/><text x="%d" y="%d" text-anchor="middle" fill="#888">%d</text>`, px, px, h-18, px, h-4, x)
	}
	for i, res := range r.Results {
		y := i * rowH
		w := int(float64(width) * res.Total / 100)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, left-6, y+15, esc(nameOf(res)))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`, left, y+3, w, rowH-6, gradeColor(res.Grade))
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s %s</text>`, left+w+4, y+15, num(res.Total), esc(res.Grade))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// gradesSVG draws how many units earned each grade.
func (r *Report) gradesSVG() string {
	count := map[string]int{}
	maxN := 1
	for _, res := range r.Results {
		count[res.Grade]++
		maxN = max(maxN, count[res.Grade])
	}
	const colW, h = 70, 160
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-size="12">`, colW*len(r.Grades)+20, h+30)
	for i, g := range r.Grades {
		n := count[g.Grade]
		bh := (h - 20) * n / maxN
		x := 10 + i*colW
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`, x+10, h-bh, colW-20, bh, gradeColor(g.Grade))
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%d</text>`, x+colW/2, h-bh-4, n)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s ≥%s</text>`, x+colW/2, h+16, esc(g.Grade), num(g.Min))
	}
	b.WriteString(`</svg>`)
	return b.String()
}
