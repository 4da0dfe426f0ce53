// Command swap prepares a copy of github.com/dgraph-io/ristretto/v2 for
// store_shrinkmap.go, our lockedMap built on a shrinkmap.Concurrent: it
// takes out of the package's store.go the code that the file replaces, and
// rewrites the test lines that reach into a shard's map and lock. It works
// on the syntax tree (go/ast) to find what to change, then cuts or replaces
// those bytes of the source, and prints how often each rule applied:
//
//	remove   in store.go: the lockedMap type, newLockedMap, lockedMap's
//	         methods, and shardedMap.IterValues (which ranges over a
//	         shard's map under its read lock), each with its doc comment
//	import   in store.go: the "sync" import, if nothing else uses it
//	lock     X.shards[i].Lock() / Unlock() / RLock() / RUnlock() as a
//	         statement (a test's): removed, the map needs no lock
//	data     X.shards[i].data[k] = v  ->  X.shards[i].data.Set(k, v)
//
// Each removed declaration must have exactly the signature (and, for the
// type, the fields) that ristretto v2.4.2 has, listed in removals below,
// and each must be present: a ristretto whose store differs fails here,
// not later in the compiler or, worse, in behaviour. Any other use of a
// shard's fields (X.shards[i].f, f not one of the methods) in the
// package's files is an error too.
//
//	swap [-expect rule=n,...] dir
//
// rewrites dir/store.go and the other dir/*.go files in place. With
// -expect, swap fails unless each named rule applied exactly n times over
// all the files (rules not named must apply 0 times).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/shrinkmap/shrinkmap/benchmarks/internal/swaprules"
)

var rules = []string{"remove", "import", "lock", "data"}

// removals are the declarations of store.go that store_shrinkmap.go
// replaces, keyed by name (Type.Method for methods), with the text each
// must have: a function's signature, or the type's declaration.
var removals = map[string]string{
	"lockedMap":                   "type lockedMap[V any] struct {\n\tsync.RWMutex\n\tdata map[uint64]storeItem[V]\n\tem *expirationMap[V]\n\tshouldUpdate updateFn[V]\n}",
	"newLockedMap":                "func newLockedMap[V any](em *expirationMap[V]) *lockedMap[V]",
	"lockedMap.setShouldUpdateFn": "func (m *lockedMap[V]) setShouldUpdateFn(f updateFn[V])",
	"lockedMap.get":               "func (m *lockedMap[V]) get(key, conflict uint64) (V, bool)",
	"lockedMap.Expiration":        "func (m *lockedMap[V]) Expiration(key uint64) time.Time",
	"lockedMap.Set":               "func (m *lockedMap[V]) Set(i *Item[V])",
	"lockedMap.Del":               "func (m *lockedMap[V]) Del(key, conflict uint64) (uint64, V)",
	"lockedMap.Update":            "func (m *lockedMap[V]) Update(newItem *Item[V]) (V, bool)",
	"lockedMap.Clear":             "func (m *lockedMap[V]) Clear(onEvict func(item *Item[V]))",
	"shardedMap.IterValues":       "func (sm *shardedMap[V]) IterValues(cb func(v V) (stop bool))",
}

// lockMethods are the lock's methods, which the map no longer has.
var lockMethods = []string{"Lock", "Unlock", "RLock", "RUnlock"}

// isShardMethod reports whether name is one of the lockedMap methods that
// store_shrinkmap.go provides: a call of it on a shard needs no rewrite.
func isShardMethod(name string) bool {
	_, ok := removals["lockedMap."+name]
	return ok
}

func main() {
	expect := flag.String("expect", "", "comma-separated rule=count pairs that must match exactly")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: swap [-expect rule=n,...] dir")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	counts, err := swapDir(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "swap:", err)
		os.Exit(1)
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

// swapDir rewrites dir/store.go with RemoveStore and every other .go file
// of dir with RewriteShardUses, writing only the files that change.
func swapDir(dir string) (map[string]int, error) {
	counts := map[string]int{}
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	store := filepath.Join(dir, "store.go")
	if !slices.Contains(names, store) {
		return nil, fmt.Errorf("%s: not found", store)
	}
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var out []byte
		if name == store {
			out, err = RemoveStore(name, src, counts)
		} else {
			out, err = RewriteShardUses(name, src, counts)
		}
		if err != nil {
			return nil, err
		}
		if out != nil {
			if err := os.WriteFile(name, out, 0o644); err != nil {
				return nil, err
			}
		}
	}
	return counts, nil
}

// edit replaces src[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// apply returns src with edits, which must not overlap, applied and the
// result formatted.
func apply(src []byte, edits []edit) ([]byte, error) {
	sort.Slice(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	var out []byte
	at := 0
	for _, e := range edits {
		if e.start < at {
			return nil, fmt.Errorf("overlapping edits at offset %d", e.start)
		}
		out = append(out, src[at:e.start]...)
		out = append(out, e.text...)
		at = e.end
	}
	out = append(out, src[at:]...)
	return format.Source(out)
}

// wholeLines widens [start, end) to the whole lines it spans, with their
// newline, if nothing but blanks shares those lines with it.
func wholeLines(src []byte, start, end int) (int, int) {
	s := start
	for s > 0 && (src[s-1] == ' ' || src[s-1] == '\t') {
		s--
	}
	e := end
	for e < len(src) && (src[e] == ' ' || src[e] == '\t') {
		e++
	}
	if (s == 0 || src[s-1] == '\n') && (e == len(src) || src[e] == '\n') {
		if e < len(src) {
			e++
		}
		return s, e
	}
	return start, end
}

// declName returns the key of removals a declaration would have, or "".
func declName(d ast.Decl) string {
	switch d := d.(type) {
	case *ast.FuncDecl:
		if d.Recv == nil || len(d.Recv.List) != 1 {
			return d.Name.Name
		}
		t := d.Recv.List[0].Type
		if s, ok := t.(*ast.StarExpr); ok {
			t = s.X
		}
		switch x := t.(type) {
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		}
		if id, ok := t.(*ast.Ident); ok {
			return id.Name + "." + d.Name.Name
		}
	case *ast.GenDecl:
		if d.Tok == token.TYPE && len(d.Specs) == 1 {
			return d.Specs[0].(*ast.TypeSpec).Name.Name
		}
	}
	return ""
}

// declText returns the text removals lists for d: a function's signature,
// or a type declaration, printed without comments and with a single space
// between a field's name and type (as gofmt would not align them).
func declText(fset *token.FileSet, d ast.Decl) (string, error) {
	var buf bytes.Buffer
	switch d := d.(type) {
	case *ast.FuncDecl:
		sig := *d
		sig.Doc, sig.Body = nil, nil
		if err := printer.Fprint(&buf, fset, &sig); err != nil {
			return "", err
		}
	case *ast.GenDecl:
		ts := d.Specs[0].(*ast.TypeSpec)
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			return "", fmt.Errorf("type %s is not a struct", ts.Name.Name)
		}
		var head bytes.Buffer
		if err := printer.Fprint(&head, fset, &ast.TypeSpec{Name: ts.Name, TypeParams: ts.TypeParams, Type: &ast.StructType{Fields: &ast.FieldList{}}}); err != nil {
			return "", err
		}
		// head is "lockedMap[V any] struct {\n}": keep up to the brace.
		h, _, _ := strings.Cut(head.String(), "{")
		buf.WriteString("type " + h + "{\n")
		for _, f := range st.Fields.List {
			var names []string
			for _, n := range f.Names {
				names = append(names, n.Name)
			}
			var typ bytes.Buffer
			if err := printer.Fprint(&typ, fset, f.Type); err != nil {
				return "", err
			}
			buf.WriteString("\t")
			if names != nil {
				buf.WriteString(strings.Join(names, ", ") + " ")
			}
			buf.WriteString(typ.String() + "\n")
		}
		buf.WriteString("}")
	}
	return buf.String(), nil
}

// RemoveStore returns store.go's src without the declarations listed in
// removals (each with its doc comment) and without the "sync" import if
// nothing else uses it, adding to counts. It fails if a listed declaration
// is missing or differs, or if what is left uses a shard's fields.
func RemoveStore(name string, src []byte, counts map[string]int) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	off := func(p token.Pos) int { return fset.Position(p).Offset }
	var edits []edit
	var errs []string
	found := map[string]bool{}
	var kept []ast.Decl
	for _, d := range f.Decls {
		key := declName(d)
		want, ok := removals[key]
		if !ok {
			if strings.HasPrefix(key, "lockedMap.") {
				errs = append(errs, fmt.Sprintf("%s: method %s is not one store_shrinkmap.go replaces", fset.Position(d.Pos()), key))
			}
			kept = append(kept, d)
			continue
		}
		got, err := declText(fset, d)
		if err != nil {
			return nil, err
		}
		if got != want {
			errs = append(errs, fmt.Sprintf("%s: %s is\n%s\nwant\n%s", fset.Position(d.Pos()), key, got, want))
			continue
		}
		found[key] = true
		start := d.Pos()
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Doc != nil {
				start = d.Doc.Pos()
			}
		case *ast.GenDecl:
			if d.Doc != nil {
				start = d.Doc.Pos()
			}
		}
		s, e := wholeLines(src, off(start), off(d.End()))
		edits = append(edits, edit{s, e, ""})
		counts["remove"]++
	}
	var missing []string
	for key := range removals {
		if !found[key] {
			missing = append(missing, key)
		}
	}
	sort.Strings(missing)
	if missing != nil {
		errs = append(errs, fmt.Sprintf("%s: not found as expected: %s", name, strings.Join(missing, ", ")))
	}
	// What is left must not reach into a shard, nor use the lock.
	for _, d := range kept {
		ast.Inspect(d, func(n ast.Node) bool {
			if s, ok := n.(*ast.SelectorExpr); ok && isShard(s.X) && !isShardMethod(s.Sel.Name) {
				errs = append(errs, fmt.Sprintf("%s: use of a shard's %s left in %s", fset.Position(s.Pos()), s.Sel.Name, name))
			}
			return true
		})
	}
	// The sync import, if no declaration left uses it.
	usesSync := false
	for _, d := range kept {
		ast.Inspect(d, func(n ast.Node) bool {
			if s, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := s.X.(*ast.Ident); ok && id.Name == "sync" {
					usesSync = true
				}
			}
			return !usesSync
		})
	}
	if !usesSync {
		for _, im := range f.Imports {
			if im.Path.Value == `"sync"` && im.Name == nil {
				s, e := wholeLines(src, off(im.Pos()), off(im.End()))
				edits = append(edits, edit{s, e, ""})
				counts["import"]++
			}
		}
	}
	if errs != nil {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return apply(src, edits)
}

// isShard reports whether e is X.shards[i].
func isShard(e ast.Expr) bool {
	ix, ok := e.(*ast.IndexExpr)
	if !ok {
		return false
	}
	s, ok := ix.X.(*ast.SelectorExpr)
	return ok && s.Sel.Name == "shards"
}

// RewriteShardUses returns src with each statement that locks or unlocks a
// shard removed and each X.shards[i].data[k] = v made a Set, adding to
// counts, or nil if src has none. Any other use of a shard's fields (a
// call of one of its methods is not one) is an error.
func RewriteShardUses(name string, src []byte, counts map[string]int) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	off := func(p token.Pos) int { return fset.Position(p).Offset }
	text := func(n ast.Node) string { return string(src[off(n.Pos()):off(n.End())]) }
	var edits []edit
	local := map[string]int{}
	done := map[*ast.SelectorExpr]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch st := n.(type) {
		case *ast.ExprStmt:
			// X.shards[i].Lock() and the like
			c, ok := st.X.(*ast.CallExpr)
			if !ok || len(c.Args) != 0 {
				return true
			}
			if s, ok := c.Fun.(*ast.SelectorExpr); ok && isShard(s.X) && slices.Contains(lockMethods, s.Sel.Name) {
				s0, e0 := wholeLines(src, off(st.Pos()), off(st.End()))
				edits = append(edits, edit{s0, e0, ""})
				done[s] = true
				local["lock"]++
			}
		case *ast.AssignStmt:
			// X.shards[i].data[k] = v
			if st.Tok != token.ASSIGN || len(st.Lhs) != 1 || len(st.Rhs) != 1 {
				return true
			}
			ix, ok := st.Lhs[0].(*ast.IndexExpr)
			if !ok {
				return true
			}
			if s, ok := ix.X.(*ast.SelectorExpr); ok && s.Sel.Name == "data" && isShard(s.X) {
				edits = append(edits, edit{off(st.Pos()), off(st.End()),
					text(s) + ".Set(" + text(ix.Index) + ", " + text(st.Rhs[0]) + ")"})
				done[s] = true
				local["data"]++
			}
		}
		return true
	})
	var errs []string
	ast.Inspect(f, func(n ast.Node) bool {
		if s, ok := n.(*ast.SelectorExpr); ok && isShard(s.X) && !done[s] && !isShardMethod(s.Sel.Name) {
			errs = append(errs, fmt.Sprintf("%s: use of a shard's %s that no rule rewrites", fset.Position(s.Pos()), s.Sel.Name))
		}
		return true
	})
	if errs != nil {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	if len(edits) == 0 {
		return nil, nil
	}
	out, err := apply(src, edits)
	if err != nil {
		return nil, err
	}
	for k, n := range local {
		counts[k] += n
	}
	return out, nil
}
