// Command rewrite turns a copy of another project's Go test file into one
// that tests an adapter: it swaps imports and qualified names, and removes
// the declarations and statements that use what the adapter lacks. It
// works on the syntax tree, so the tests it keeps are theirs unchanged.
//
//	rewrite [flags] in.go out.go
//
// It prints the names of the top-level declarations it removed, one a line.
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"log"
	"os"
	"strconv"
	"strings"
)

// edits is what the flags ask for.
type edits struct {
	dropImports map[string]bool   // import paths to remove, with what uses them
	swapImports map[string]string // import path to its replacement
	addImports  map[string]string // name to path of imports to add
	renames     map[string]string // "pkg.Name" to "pkg2.Name2"
	drop        map[string]bool   // top-level names to remove
	benchmarks  bool              // remove the benchmarks and their helpers too
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("rewrite: ")
	var e edits
	dropImports := flag.String("drop-import", "", "comma-separated import `paths` to remove, with the statements and declarations using them")
	swapImports := flag.String("import", "", "comma-separated `old=new` import path replacements")
	addImports := flag.String("add-import", "", "comma-separated `name=path` imports to add")
	renames := flag.String("rename", "", "comma-separated `pkg.Name=pkg2.Name2` replacements of qualified names")
	drop := flag.String("drop", "", "comma-separated top-level `names` to remove")
	flag.BoolVar(&e.benchmarks, "drop-benchmarks", false, "remove the benchmarks and their helpers (functions named Benchmark* or benchmark*)")
	flag.Parse()
	if flag.NArg() != 2 {
		log.Fatal("usage: rewrite [flags] in.go out.go")
	}
	e.dropImports = set(*dropImports)
	e.swapImports = pairs(*swapImports)
	e.addImports = pairs(*addImports)
	e.renames = pairs(*renames)
	e.drop = set(*drop)

	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, flag.Arg(0), nil, parser.ParseComments)
	if err != nil {
		log.Fatal(err)
	}
	removed := e.apply(fset, f)
	var out strings.Builder
	if err := format.Node(&out, fset, f); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(flag.Arg(1), []byte(out.String()), 0o644); err != nil {
		log.Fatal(err)
	}
	for _, name := range removed {
		fmt.Println(name)
	}
}

// set splits a comma-separated list into a set.
func set(list string) map[string]bool {
	s := make(map[string]bool)
	for _, v := range strings.Split(list, ",") {
		if v != "" {
			s[v] = true
		}
	}
	return s
}

// pairs splits a comma-separated list of a=b into a map.
func pairs(list string) map[string]string {
	m := make(map[string]string)
	for v := range set(list) {
		a, b, ok := strings.Cut(v, "=")
		if !ok {
			log.Fatalf("%q: want the form a=b", v)
		}
		m[a] = b
	}
	return m
}

// apply edits f and returns the names of the top-level declarations it
// removed.
func (e *edits) apply(fset *token.FileSet, f *ast.File) []string {
	cmap := ast.NewCommentMap(fset, f, f.Comments)
	gone := e.editImports(f)
	e.rename(f)
	var removed []string
	var decls []ast.Decl
	for _, d := range f.Decls {
		names, keep := e.keep(d, gone)
		if !keep {
			removed = append(removed, names...)
			continue
		}
		decls = append(decls, d)
	}
	f.Decls = decls
	for _, d := range f.Decls {
		dropStatements(d, gone)
	}
	for name, path := range e.addImports {
		addImport(f, name, path)
	}
	dropUnusedImports(f)
	f.Comments = cmap.Filter(f).Comments()
	return removed
}

// editImports swaps and removes imports, and returns the names by which
// the removed ones were used.
func (e *edits) editImports(f *ast.File) map[string]bool {
	gone := make(map[string]bool)
	removeImports(f, func(spec *ast.ImportSpec) bool {
		path, _ := strconv.Unquote(spec.Path.Value)
		if e.dropImports[path] {
			gone[importName(spec)] = true
			return true
		}
		if to, ok := e.swapImports[path]; ok {
			spec.Path.Value = strconv.Quote(to)
		}
		return false
	})
	return gone
}

// rename replaces the qualified names pkg.Name that e.renames lists.
func (e *edits) rename(f *ast.File) {
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		x, ok := sel.X.(*ast.Ident)
		if !ok {
			return true
		}
		if to, ok := e.renames[x.Name+"."+sel.Sel.Name]; ok {
			pkg, name, _ := strings.Cut(to, ".")
			x.Name, sel.Sel.Name = pkg, name
		}
		return true
	})
}

// keep reports whether d stays, with the names d declares. A declaration
// goes if it is named in e.drop, is a benchmark e.benchmarks removes, or
// uses a removed import other than in a statement of its own (which
// dropStatements removes). A var or const group loses only the specs that
// go.
func (e *edits) keep(d ast.Decl, gone map[string]bool) (names []string, keep bool) {
	switch d := d.(type) {
	case *ast.FuncDecl:
		name := d.Name.Name
		if d.Recv != nil {
			return nil, true
		}
		if e.drop[name] || (e.benchmarks && isBenchmark(name)) ||
			usesOutsideStatements(d.Body, gone) {
			return []string{name}, false
		}
		return nil, true
	case *ast.GenDecl:
		var specs []ast.Spec
		for _, s := range d.Specs {
			if specNames := declared(s); e.dropsSpec(s, specNames, gone) {
				names = append(names, specNames...)
				continue
			}
			specs = append(specs, s)
		}
		d.Specs = specs
		return names, len(specs) > 0
	}
	return nil, true
}

// dropsSpec reports whether spec, declaring names, is to go.
func (e *edits) dropsSpec(spec ast.Spec, names []string, gone map[string]bool) bool {
	if _, ok := spec.(*ast.ImportSpec); ok {
		return false
	}
	for _, n := range names {
		if e.drop[n] {
			return true
		}
	}
	return uses(spec, gone)
}

// isBenchmark reports whether a function called name is a benchmark or a
// helper of the benchmarks.
func isBenchmark(name string) bool {
	return strings.HasPrefix(name, "Benchmark") || strings.HasPrefix(name, "benchmark")
}

// declared returns the names a spec declares ("_" for a blank one).
func declared(s ast.Spec) []string {
	switch s := s.(type) {
	case *ast.TypeSpec:
		return []string{s.Name.Name}
	case *ast.ValueSpec:
		var names []string
		for _, n := range s.Names {
			names = append(names, n.Name)
		}
		return names
	}
	return nil
}

// uses reports whether n refers to a package by one of the names in pkgs.
func uses(n ast.Node, pkgs map[string]bool) bool {
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if x, ok := sel.X.(*ast.Ident); ok && pkgs[x.Name] {
				found = true
			}
		}
		return !found
	})
	return found
}

// usesOutsideStatements reports whether body uses pkgs other than in
// expression statements (calls such as testenv.SkipIfOptimizationOff(t)).
func usesOutsideStatements(body *ast.BlockStmt, pkgs map[string]bool) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if s, ok := n.(*ast.ExprStmt); ok && uses(s, pkgs) {
			return false
		}
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if x, ok := sel.X.(*ast.Ident); ok && pkgs[x.Name] {
				found = true
			}
		}
		return !found
	})
	return found
}

// dropStatements removes from d's blocks the statements that use pkgs.
func dropStatements(d ast.Decl, pkgs map[string]bool) {
	ast.Inspect(d, func(n ast.Node) bool {
		if b, ok := n.(*ast.BlockStmt); ok {
			var kept []ast.Stmt
			for _, s := range b.List {
				if _, ok := s.(*ast.ExprStmt); !ok || !uses(s, pkgs) {
					kept = append(kept, s)
				}
			}
			b.List = kept
		}
		return true
	})
}

// dropUnusedImports removes the named and plain imports f no longer uses.
func dropUnusedImports(f *ast.File) {
	used := make(map[string]bool)
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if x, ok := sel.X.(*ast.Ident); ok {
				used[x.Name] = true
			}
		}
		return true
	})
	removeImports(f, func(spec *ast.ImportSpec) bool {
		name := importName(spec)
		return name != "." && name != "_" && !used[name]
	})
}

// removeImports removes the imports for which drop reports true.
func removeImports(f *ast.File, drop func(*ast.ImportSpec) bool) {
	var imports []*ast.ImportSpec
	for _, spec := range f.Imports {
		if !drop(spec) {
			imports = append(imports, spec)
		}
	}
	f.Imports = imports
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
			var specs []ast.Spec
			for _, s := range g.Specs {
				if !drop(s.(*ast.ImportSpec)) {
					specs = append(specs, s)
				}
			}
			g.Specs = specs
		}
	}
}

// addImport adds the import name "path" to f's first import declaration;
// dropUnusedImports removes it again if f does not use it.
func addImport(f *ast.File, name, path string) {
	spec := &ast.ImportSpec{Name: ast.NewIdent(name), Path: &ast.BasicLit{Kind: token.STRING, Value: strconv.Quote(path)}}
	f.Imports = append(f.Imports, spec)
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
			g.Specs = append(g.Specs, spec)
			return
		}
	}
	log.Fatal("no import declaration to add to")
}

// importName is the name by which a file uses an import: its explicit name
// or its path's last element.
func importName(spec *ast.ImportSpec) string {
	if spec.Name != nil {
		return spec.Name.Name
	}
	path, _ := strconv.Unquote(spec.Path.Value)
	return path[strings.LastIndex(path, "/")+1:]
}
