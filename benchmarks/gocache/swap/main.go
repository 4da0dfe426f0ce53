// Command swap rewrites Go files of github.com/patrickmn/go-cache in place
// so that the cache's items field, a map[string]Item, becomes a
// *shrinkmap.ShrinkMap[string, Item]. It works on the syntax tree (go/ast),
// one rule per way the map is used, and prints how often each rule applied:
//
//	field      items map[string]Item              -> items *shrinkmap.ShrinkMap[string, Item]
//	set        X.items[k] = v                     -> X.items.Set(k, v)
//	get        v, ok := X.items[k]  (also =)      -> v, ok := X.items.Get(k)
//	delete     delete(X.items, k)                 -> X.items.Delete(k)
//	range      for k, v := range X.items          -> for k, v := range X.items.All()
//	len        len(X.items)                       -> X.items.Len()
//	new        X.items = map[string]Item{}        -> X.items = shrinkmap.New[string, Item]()
//	           items: map[string]Item{}           -> items: shrinkmap.New[string, Item]()
//	from       items: m  (m a map[string]Item)    -> items: shrinkmap.FromMap(m)
//	copy       &X.items, X.items[k] (one value)   -> maps.Collect(X.items.All()), ...[k]
//
// "copy" covers the places that need a native map's value: Save gob-encodes
// the map (and Load decodes what Save wrote into a map[string]Item), and one
// test reads a single item's field. Any other use of a field named items is
// an error, so a go-cache version with a use this program does not know
// fails here rather than in the compiler.
//
// Every rewrite keeps the statement on its line, so a diff of the result
// against the original shows one changed line per use (and the imports).
//
//	swap [-expect rule=n,...] file.go...
//
// With -expect, swap fails unless each named rule applied exactly n times
// over all the files (rules not named must apply 0 times).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"

	"github.com/shrinkmap/shrinkmap/benchmarks/internal/swaprules"
)

const (
	pkgPath = "github.com/shrinkmap/shrinkmap"
	field   = "items"
)

var rules = []string{"field", "set", "get", "delete", "range", "len", "new", "from", "copy"}

func main() {
	expect := flag.String("expect", "", "comma-separated rule=count pairs that must match exactly")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: swap [-expect rule=n,...] file.go...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	counts := map[string]int{}
	for _, name := range flag.Args() {
		if err := rewriteFile(name, counts); err != nil {
			fmt.Fprintln(os.Stderr, "swap:", err)
			os.Exit(1)
		}
	}
	fmt.Println("swap:", swaprules.Summary(rules, counts))
	if *expect != "" {
		if err := check(*expect, counts); err != nil {
			fmt.Fprintln(os.Stderr, "swap:", err)
			os.Exit(1)
		}
	}
}

// check compares counts with spec, "rule=n,...", over rules (see
// swaprules.Check).
func check(spec string, counts map[string]int) error {
	return swaprules.Check(spec, rules, counts)
}

func rewriteFile(name string, counts map[string]int) error {
	src, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	out, err := Rewrite(name, src, counts)
	if err != nil {
		return err
	}
	if out == nil {
		return nil // nothing to change
	}
	return os.WriteFile(name, out, 0o644)
}

// Rewrite returns src with every use of the items field rewritten, adding
// to counts, or nil if src has none.
func Rewrite(name string, src []byte, counts map[string]int) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	r := &rewriter{fset: fset, counts: map[string]int{}}
	ast.Inspect(f, r.visit)
	r.checkLeft(f)
	if r.errs != nil {
		return nil, fmt.Errorf("%s", strings.Join(r.errs, "\n"))
	}
	if len(r.counts) == 0 {
		return nil, nil
	}
	var buf bytes.Buffer
	if err := format.Node(&buf, fset, f); err != nil {
		return nil, err
	}
	var std, ext []string
	if r.counts["copy"] > 0 {
		std = append(std, "maps")
	}
	if r.counts["field"]+r.counts["new"]+r.counts["from"] > 0 {
		ext = append(ext, pkgPath)
	}
	out, err := addImports(buf.Bytes(), std, ext)
	if err != nil {
		return nil, err
	}
	for k, n := range r.counts {
		counts[k] += n
	}
	return out, nil
}

type rewriter struct {
	fset   *token.FileSet
	counts map[string]int
	done   map[*ast.SelectorExpr]bool // uses already rewritten
	errs   []string
}

// isItems reports whether e is a selector X.items.
func isItems(e ast.Expr) (*ast.SelectorExpr, bool) {
	s, ok := e.(*ast.SelectorExpr)
	return s, ok && s.Sel.Name == field
}

// isItemMap reports whether e is the type map[string]Item.
func isItemMap(e ast.Expr) bool {
	m, ok := e.(*ast.MapType)
	if !ok {
		return false
	}
	k, kok := m.Key.(*ast.Ident)
	v, vok := m.Value.(*ast.Ident)
	return kok && vok && k.Name == "string" && v.Name == "Item"
}

// isEmptyItemMap reports whether e is the literal map[string]Item{}.
func isEmptyItemMap(e ast.Expr) bool {
	c, ok := e.(*ast.CompositeLit)
	return ok && len(c.Elts) == 0 && isItemMap(c.Type)
}

func (r *rewriter) apply(rule string, s *ast.SelectorExpr) {
	r.counts[rule]++
	if r.done == nil {
		r.done = map[*ast.SelectorExpr]bool{}
	}
	if s != nil {
		r.done[s] = true
	}
}

// call returns recv.method(args...), its parentheses at lparen and after
// the last argument (so that the printer keeps the lines as they were).
func call(recv ast.Expr, method string, lparen token.Pos, args ...ast.Expr) *ast.CallExpr {
	rparen := lparen
	if len(args) > 0 {
		rparen = args[len(args)-1].End()
	}
	return &ast.CallExpr{
		Fun:    &ast.SelectorExpr{X: recv, Sel: &ast.Ident{Name: method, NamePos: lparen}},
		Lparen: lparen,
		Args:   args,
		Rparen: rparen,
	}
}

// shrinkmapCall returns shrinkmap.fn[typeArgs](args...), placed at pos.
func shrinkmapCall(fn string, typeArgs []ast.Expr, pos token.Pos, args ...ast.Expr) *ast.CallExpr {
	var fun ast.Expr = &ast.SelectorExpr{X: &ast.Ident{Name: "shrinkmap", NamePos: pos}, Sel: &ast.Ident{Name: fn, NamePos: pos}}
	if len(typeArgs) > 0 {
		fun = &ast.IndexListExpr{X: fun, Lbrack: pos, Indices: typeArgs, Rbrack: pos}
	}
	return &ast.CallExpr{Fun: fun, Lparen: pos, Args: args, Rparen: pos}
}

func itemTypeArgs(pos token.Pos) []ast.Expr {
	return []ast.Expr{&ast.Ident{Name: "string", NamePos: pos}, &ast.Ident{Name: "Item", NamePos: pos}}
}

// collect returns maps.Collect(s.All()).
func collect(s *ast.SelectorExpr) *ast.CallExpr {
	pos := s.Pos()
	return &ast.CallExpr{
		Fun:    &ast.SelectorExpr{X: &ast.Ident{Name: "maps", NamePos: pos}, Sel: &ast.Ident{Name: "Collect", NamePos: pos}},
		Lparen: pos,
		Args:   []ast.Expr{call(s, "All", s.End())},
		Rparen: s.End(),
	}
}

func (r *rewriter) visit(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.StructType:
		// items map[string]Item, a struct field
		for _, fd := range n.Fields.List {
			if len(fd.Names) == 1 && fd.Names[0].Name == field && isItemMap(fd.Type) {
				pos := fd.Type.Pos()
				fd.Type = &ast.StarExpr{Star: pos, X: &ast.IndexListExpr{
					X:       &ast.SelectorExpr{X: &ast.Ident{Name: "shrinkmap", NamePos: pos}, Sel: &ast.Ident{Name: "ShrinkMap", NamePos: pos}},
					Lbrack:  pos,
					Indices: itemTypeArgs(pos),
					Rbrack:  pos,
				}}
				r.apply("field", nil)
			}
		}
	case *ast.BlockStmt:
		r.stmts(n.List)
	case *ast.CaseClause:
		r.stmts(n.Body)
	case *ast.CommClause:
		r.stmts(n.Body)
	case *ast.IfStmt:
		r.assign(n.Init)
	case *ast.RangeStmt:
		if s, ok := isItems(n.X); ok {
			n.X = call(s, "All", s.End())
			r.apply("range", s)
		}
	case *ast.CallExpr:
		// len(X.items); delete is a statement, handled in stmts
		if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "len" && len(n.Args) == 1 {
			if s, ok := isItems(n.Args[0]); ok {
				// Rewrite in place: the call becomes X.items.Len().
				n.Fun = &ast.SelectorExpr{X: s, Sel: &ast.Ident{Name: "Len", NamePos: s.End()}}
				n.Args = nil
				r.apply("len", s)
			}
		}
		for i, a := range n.Args {
			// &X.items as an argument (Save's enc.Encode(&c.items))
			if u, ok := a.(*ast.UnaryExpr); ok && u.Op == token.AND {
				if s, ok := isItems(u.X); ok {
					n.Args[i] = collect(s)
					r.apply("copy", s)
				}
			}
		}
	case *ast.KeyValueExpr:
		// items: ..., in a composite literal of cache
		if k, ok := n.Key.(*ast.Ident); ok && k.Name == field {
			pos := n.Value.Pos()
			if isEmptyItemMap(n.Value) {
				n.Value = shrinkmapCall("New", itemTypeArgs(pos), pos)
				r.apply("new", nil)
			} else {
				n.Value = shrinkmapCall("FromMap", nil, pos, n.Value)
				r.apply("from", nil)
			}
		}
	case *ast.SelectorExpr:
		// X.items[k] as a single value, e.g. tc.items["e"].Expiration
		if ix, ok := n.X.(*ast.IndexExpr); ok {
			if s, ok := isItems(ix.X); ok && !r.done[s] {
				ix.X = collect(s)
				r.apply("copy", s)
			}
		}
	}
	return true
}

// stmts rewrites the statements of a list that use the items field.
func (r *rewriter) stmts(list []ast.Stmt) {
	for i, st := range list {
		switch st := st.(type) {
		case *ast.AssignStmt:
			if rep := r.assign(st); rep != nil {
				list[i] = rep
			}
		case *ast.ExprStmt:
			// delete(X.items, k)
			c, ok := st.X.(*ast.CallExpr)
			if !ok || len(c.Args) != 2 {
				continue
			}
			if id, ok := c.Fun.(*ast.Ident); ok && id.Name == "delete" {
				if s, ok := isItems(c.Args[0]); ok {
					st.X = call(s, "Delete", c.Lparen, c.Args[1])
					r.apply("delete", s)
				}
			}
		}
	}
}

// assign rewrites an assignment that uses the items field, returning the
// statement to put in its place if it is not the same statement.
func (r *rewriter) assign(st ast.Stmt) ast.Stmt {
	a, ok := st.(*ast.AssignStmt)
	if !ok || len(a.Rhs) != 1 {
		return nil
	}
	switch {
	case len(a.Lhs) == 1 && a.Tok == token.ASSIGN:
		if ix, ok := a.Lhs[0].(*ast.IndexExpr); ok {
			// X.items[k] = v
			if s, ok := isItems(ix.X); ok {
				r.apply("set", s)
				return &ast.ExprStmt{X: call(s, "Set", ix.Lbrack, ix.Index, a.Rhs[0])}
			}
		}
		if s, ok := isItems(a.Lhs[0]); ok && isEmptyItemMap(a.Rhs[0]) {
			// X.items = map[string]Item{}
			pos := a.Rhs[0].Pos()
			a.Rhs[0] = shrinkmapCall("New", itemTypeArgs(pos), pos)
			r.apply("new", s)
		}
	case len(a.Lhs) == 2:
		// v, ok := X.items[k]
		if ix, ok := a.Rhs[0].(*ast.IndexExpr); ok {
			if s, ok := isItems(ix.X); ok {
				a.Rhs[0] = call(s, "Get", ix.Lbrack, ix.Index)
				r.apply("get", s)
			}
		}
	}
	return nil
}

// checkLeft reports every use of the items field that no rule rewrote.
func (r *rewriter) checkLeft(f *ast.File) {
	ast.Inspect(f, func(n ast.Node) bool {
		if s, ok := isItems(asExpr(n)); ok && !r.done[s] {
			r.errs = append(r.errs, fmt.Sprintf("%s: use of .%s that no rule rewrites", r.fset.Position(s.Pos()), field))
		}
		return true
	})
}

func asExpr(n ast.Node) ast.Expr {
	e, _ := n.(ast.Expr)
	return e
}

// addImports adds the standard library packages std to the first group of
// src's import block and the packages ext in a group of their own after it,
// skipping any already imported, and formats the result.
func addImports(src []byte, std, ext []string) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ImportsOnly)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, im := range f.Imports {
		have[im.Path.Value] = true
	}
	lines := func(paths []string) string {
		var b strings.Builder
		for _, p := range paths {
			if q := strconv.Quote(p); !have[q] {
				b.WriteString("\t" + q + "\n")
			}
		}
		return b.String()
	}
	var decl *ast.GenDecl
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.IMPORT && g.Lparen.IsValid() {
			decl = g
			break
		}
	}
	if decl == nil {
		return nil, fmt.Errorf("no parenthesized import block to add %v to", append(std, ext...))
	}
	open := fset.Position(decl.Lparen).Offset + len("(\n") // gofmt puts each spec on its own line
	closing := fset.Position(decl.Rparen).Offset
	var out []byte
	out = append(out, src[:open]...)
	out = append(out, lines(std)...)
	out = append(out, src[open:closing]...)
	if e := lines(ext); e != "" {
		out = append(out, "\n"+e...)
	}
	out = append(out, src[closing:]...)
	return format.Source(out)
}
