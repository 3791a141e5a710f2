package main

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"strings"
)

// funcConstants evaluates the FuncID and FuncFlag constants of a toolchain's
// own source: internal/abi/symtab.go since 1.21, runtime/symtab.go before.
// The file is type-checked alone; errors about its other dependencies are
// ignored because iota constants do not depend on them.
func funcConstants(goroot string) (ids, flags map[string]int64, err error) {
	for _, rel := range []string{"src/internal/abi/symtab.go", "src/runtime/symtab.go"} {
		path := filepath.Join(goroot, rel)
		src, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		ids, flags, err = evalConstants(path, src)
		if err != nil {
			return nil, nil, err
		}
		if len(ids) > 0 {
			return ids, flags, nil
		}
	}
	return nil, nil, fmt.Errorf("no FuncID constants under %s", goroot)
}

func evalConstants(path string, src []byte) (ids, flags map[string]int64, err error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, src, 0)
	if err != nil {
		return nil, nil, err
	}
	info := &types.Info{Defs: map[*ast.Ident]types.Object{}}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil), Error: func(error) {}}
	conf.Check(file.Name.Name, fset, []*ast.File{file}, info) // errors expected, see above
	ids, flags = map[string]int64{}, map[string]int64{}
	for _, obj := range info.Defs {
		c, ok := obj.(*types.Const)
		if !ok {
			continue
		}
		named, ok := c.Type().(*types.Named)
		if !ok {
			continue
		}
		v, exact := constantInt(c)
		if !exact {
			continue
		}
		switch named.Obj().Name() {
		case "funcID", "FuncID":
			ids[idName(c.Name())] = v
		case "funcFlag", "FuncFlag":
			flags[flagName(c.Name())] = v
		}
	}
	return ids, flags, nil
}

func constantInt(c *types.Const) (int64, bool) {
	var v int64
	_, err := fmt.Sscan(c.Val().ExactString(), &v)
	return v, err == nil
}

// idName maps funcID_runtime_main / FuncID_runtime_main / FuncIDNormal to
// runtime_main / normal.
func idName(n string) string {
	for _, p := range []string{"funcID_", "FuncID_", "FuncID"} {
		if strings.HasPrefix(n, p) {
			n = n[len(p):]
			break
		}
	}
	if n == "" {
		return n
	}
	return strings.ToLower(n[:1]) + n[1:]
}

// flagName maps funcFlag_TOPFRAME / FuncFlagTopFrame to topframe.
func flagName(n string) string {
	n = strings.TrimPrefix(strings.TrimPrefix(n, "funcFlag_"), "FuncFlag")
	return strings.ToLower(n)
}
