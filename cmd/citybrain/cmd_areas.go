package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/area"
)

// cmdImportAreas replaces the stored areas with a validated GeoJSON file. A running
// platform on the same store picks the new boundaries up within areaReloadEvery.
func cmdImportAreas(ctx context.Context, c *cli) error {
	var cfg config
	var file string
	var check, printDemo bool
	fs := cfg.flagSet("import areas", false, c.stderr)
	fs.StringVar(&file, "file", "", "the GeoJSON file (may also be given as the argument; - reads stdin)")
	fs.BoolVar(&check, "check", false, "only validate the file and print what it holds; store nothing")
	fs.BoolVar(&printDemo, "print-demo", false, "write the synthetic demo district as GeoJSON to stdout (a template) and exit")
	fs.Usage = func() {
		fmt.Fprint(c.stderr, `Usage: citybrain import areas [flags] FILE.geojson

Replaces all areas (区 → 街道 → 社区 → 网格) with the boundaries in a GeoJSON
FeatureCollection, for example your district's real boundaries in place of the synthetic demo.
Each Feature has a Polygon or MultiPolygon geometry (WGS 84 [lon, lat]) and the properties
  code      area code (district 6 digits, street 9, community 12, grid 14 by convention)
  level     district, street, community or grid (or 区, 街道, 社区, 网格)
  parent    code of the area one level up (not needed for the district)
  name_zh   Chinese name;  name_en  English name (optional)
The file is validated first (closed rings of at least 4 positions, valid coordinates, no
self-intersections, unique codes, parents present one level up, every child vertex inside
its parent); nothing is stored unless it is entirely valid. A running citybrain on the same
store reloads the new boundaries within 10 seconds. See --print-demo for a complete example.

Flags:
`)
		fs.PrintDefaults()
	}
	pos, rest := splitFileArg(fs, c.args)
	if err := cfg.parse(fs, rest, c.env); err != nil {
		return err
	}
	if printDemo {
		return area.EncodeGeoJSON(c.stdout, area.Demo())
	}
	switch {
	case file == "" && pos == "":
		fs.Usage()
		return &exitError{code: 2, msg: "citybrain import areas: 缺少 GeoJSON 文件 / give the GeoJSON file to import"}
	case file != "" && pos != "" && file != pos:
		return &exitError{code: 2, msg: fmt.Sprintf("citybrain import areas: two files given (%s and %s); give one", file, pos)}
	case file == "":
		file = pos
	}
	var r io.Reader = c.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return &exitError{code: 1, msg: fmt.Sprintf("citybrain import areas: 无法打开文件 / cannot open %s: %v", file, err)}
		}
		defer f.Close()
		r = f
	}
	areas, err := area.ParseGeoJSON(r)
	if err == nil {
		_, err = area.NewMap(areas)
	}
	if err != nil {
		return importError(file, err)
	}
	summary := func(m *area.Map) string {
		return fmt.Sprintf("%d 区 district(s), %d 街道 streets, %d 社区 communities, %d 网格 grids",
			m.Count(area.LevelDistrict), m.Count(area.LevelStreet), m.Count(area.LevelCommunity), m.Count(area.LevelGrid))
	}
	if check {
		m, _ := area.NewMap(areas)
		fmt.Fprintf(c.stdout, "%s 有效 / is valid: %s\n", file, summary(m))
		return nil
	}
	db, err := openStore(ctx, &cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := area.NewService(db, time.Now)
	m, err := svc.Replace(ctx, areas, "file:"+filepath.Base(file))
	if err != nil {
		return importError(file, err)
	}
	fmt.Fprintf(c.stdout, "已导入 / imported %s from %s (version %d); a running citybrain reloads them within %s\n",
		summary(m), file, svc.Version(), areaReloadEvery)
	return nil
}

// importError prints a validation failure as the bilingual list of problems it holds.
func importError(file string, err error) error {
	if code := citybrain.ErrorCode(err); code == citybrain.EINVALID || code == citybrain.ETOOLARGE || code == citybrain.ECONFLICT {
		return &exitError{code: 1, msg: fmt.Sprintf("citybrain import areas: %s 未导入，请修正以下问题 / %s was not imported; fix these problems:\n%s",
			file, file, citybrain.ErrorMessage(err))}
	}
	return err
}

// splitFileArg takes the positional FILE out of the arguments so the shared flag parser,
// which refuses positional arguments, sees flags only. FILE may come first or last.
func splitFileArg(fs *flag.FlagSet, args []string) (string, []string) {
	if len(args) == 0 {
		return "", args
	}
	if a := args[0]; a == "-" || !strings.HasPrefix(a, "-") {
		return a, args[1:]
	}
	last := args[len(args)-1]
	if strings.HasPrefix(last, "-") && last != "-" {
		return "", args
	}
	if len(args) >= 2 && strings.HasPrefix(args[len(args)-2], "-") {
		prev := strings.TrimLeft(args[len(args)-2], "-")
		if prev != "" && !strings.Contains(prev, "=") {
			if f := fs.Lookup(prev); f != nil {
				if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
					return "", args // last is the value of the flag before it
				}
			}
		}
	}
	return last, args[:len(args)-1]
}
