package citybrain_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// adapters are the technology packages that may speak HTTP, SQL or NATS. Every other package
// under internal/ is domain code and must receive such things through interfaces.
var adapters = map[string]bool{
	"internal/store": true, "internal/store/storetest": true, "internal/bus": true, "internal/httpapi": true,
	"internal/web": true, "internal/ingest": true, "internal/open311": true, "internal/llm": true, "internal/webhook": true,
}

var forbidden = []string{"net/http", "database/sql", "github.com/nats-io/"}

type pkgInfo struct {
	hasDoc  bool
	imports map[string]string // import path → file
	isMain  bool
}

func loadPackages(t *testing.T) map[string]*pkgInfo {
	t.Helper()
	pkgs := map[string]*pkgInfo{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata" || name == "web" && !strings.Contains(path, "internal")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		p := pkgs[dir]
		if p == nil {
			p = &pkgInfo{imports: map[string]string{}}
			pkgs[dir] = p
		}
		if f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "" {
			p.hasDoc = true
		}
		p.isMain = f.Name.Name == "main"
		for _, im := range f.Imports {
			p.imports[strings.Trim(im.Path.Value, `"`)] = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// TestDomainPackagesStayPure fails when a domain package imports net/http, database/sql or
// the NATS client: dependencies point inward.
func TestDomainPackagesStayPure(t *testing.T) {
	pkgs := loadPackages(t)
	var dirs []string
	for d := range pkgs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	checked := 0
	for _, dir := range dirs {
		p := pkgs[dir]
		if !strings.HasPrefix(dir, "internal/") || adapters[dir] || p.isMain {
			continue
		}
		checked++
		for im, file := range p.imports {
			for _, bad := range forbidden {
				if im == bad || strings.HasPrefix(im, bad) {
					t.Errorf("%s imports %s: domain packages receive HTTP, SQL and bus access through interfaces (move it to an adapter package)", file, im)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no domain packages found: the walk is broken")
	}
}

// TestEveryPackageHasDocComment fails when a package lacks a doc comment.
func TestEveryPackageHasDocComment(t *testing.T) {
	pkgs := loadPackages(t)
	if len(pkgs) < 5 {
		t.Fatalf("only %d packages found: the walk is broken", len(pkgs))
	}
	for dir, p := range pkgs {
		if !p.hasDoc {
			t.Errorf("package in %s has no doc comment: say what it owns and its concurrency guarantees", dir)
		}
	}
}

func TestArchitectureDocNamesEveryPackage(t *testing.T) {
	doc, err := os.ReadFile("docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	for dir, p := range loadPackages(t) {
		if !strings.HasPrefix(dir, "internal/") || p.isMain || strings.HasSuffix(dir, "storetest") {
			continue
		}
		name := strings.TrimPrefix(dir, "internal/")
		if !strings.Contains(string(doc), name+"/") && !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("docs/architecture.md does not mention %s: keep the map true", dir)
		}
	}
}
