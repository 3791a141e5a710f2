// Command extract reads runtime layouts out of probe binaries and writes
// gtop's per-version table (src/runtime/layouts.generated.json).
//
//	extract [-out FILE] BINARY:GOROOT...
//
// Each BINARY is the probe built by the toolchain whose GOROOT is given (the
// FuncID constants are parsed from that GOROOT's source). With -out, entries
// already in FILE for other Go versions are kept; without it the entries are
// written to stdout.
package main

import (
	"debug/buildinfo"
	"debug/dwarf"
	"debug/elf"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Structs is every type whose layout goes into the table. Types absent from a
// version (e.g. runtime.maybeTraceablePtr before 1.26) are simply left out.
var Structs = []string{
	"runtime.g", "runtime.gobuf", "runtime.stack", "runtime.m", "runtime.hchan",
	"runtime.waitq", "runtime.sudog", "runtime.maybeTraceablePtr", "runtime.maybeTraceableChan",
	"runtime.moduledata", "runtime.pcHeader", "runtime._func", "runtime.semaRoot",
	"runtime.notifyList", "runtime.mutex", "runtime.pollDesc", "runtime.timer",
	"sync.Mutex", "internal/sync.Mutex", "sync.RWMutex", "sync.WaitGroup", "sync.Cond",
	"runtime/pprof.labelMap", "runtime/pprof.LabelSet", "runtime/pprof.label",
	"internal/runtime/pprof/label.Set", "internal/runtime/pprof/label.Label",
}

type Struct struct {
	Size   int64            `json:"size"`
	Fields map[string]int64 `json:"fields"`
}

type Entry struct {
	GoVersion      string            `json:"goVersion"`
	Structs        map[string]Struct `json:"structs"`
	WaitReasons    []string          `json:"waitReasons"`
	GStatusStrings []string          `json:"gStatusStrings"`
	FuncIDs        map[string]int64  `json:"funcIDs"`
	FuncFlags      map[string]int64  `json:"funcFlags"`
}

var minorRE = regexp.MustCompile(`^go1\.(\d+)`)

func main() {
	out := flag.String("out", "", "table to update (default: print the entries to stdout)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: extract [-out FILE] BINARY:GOROOT...")
		os.Exit(2)
	}
	table := map[string]Entry{}
	if *out != "" {
		if data, err := os.ReadFile(*out); err == nil {
			if err := json.Unmarshal(data, &table); err != nil {
				fail("%s: %v", *out, err)
			}
		}
	}
	for _, arg := range flag.Args() {
		i := strings.LastIndex(arg, ":")
		if i < 0 {
			fail("argument %q is not BINARY:GOROOT", arg)
		}
		minor, entry, err := extract(arg[:i], arg[i+1:])
		if err != nil {
			fail("%s: %v", arg[:i], err)
		}
		table[minor] = entry
	}
	text := format(table)
	if *out == "" {
		os.Stdout.WriteString(text)
		return
	}
	if err := os.WriteFile(*out, []byte(text), 0o644); err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "extract: "+format+"\n", args...)
	os.Exit(1)
}

func extract(binary, goroot string) (string, Entry, error) {
	var e Entry
	bi, err := buildinfo.ReadFile(binary)
	if err != nil {
		return "", e, err
	}
	m := minorRE.FindStringSubmatch(bi.GoVersion)
	if m == nil {
		return "", e, fmt.Errorf("unexpected Go version %q", bi.GoVersion)
	}
	f, err := elf.Open(binary)
	if err != nil {
		return "", e, err
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		return "", e, err
	}
	e.GoVersion = bi.GoVersion
	if e.Structs, err = structs(d, Structs); err != nil {
		return "", e, err
	}
	if e.WaitReasons, err = stringArray(f, "runtime.waitReasonStrings"); err != nil {
		return "", e, err
	}
	if e.GStatusStrings, err = stringArray(f, "runtime.gStatusStrings"); err != nil {
		return "", e, err
	}
	if e.FuncIDs, e.FuncFlags, err = funcConstants(goroot); err != nil {
		return "", e, err
	}
	return m[1], e, nil
}

// structs collects the members of the named struct types; blank (_) members
// are left out because several may share the name.
func structs(d *dwarf.Data, names []string) (map[string]Struct, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	found := map[string]Struct{}
	r := d.Reader()
	for {
		ent, err := r.Next()
		if err != nil {
			return nil, err
		}
		if ent == nil {
			return found, nil
		}
		name, _ := ent.Val(dwarf.AttrName).(string)
		_, seen := found[name]
		if ent.Tag != dwarf.TagStructType || !want[name] || seen || ent.Val(dwarf.AttrDeclaration) != nil {
			if ent.Children && ent.Tag != dwarf.TagCompileUnit {
				r.SkipChildren()
			}
			continue
		}
		size, _ := ent.Val(dwarf.AttrByteSize).(int64)
		s := Struct{Size: size, Fields: map[string]int64{}}
		for ent.Children {
			child, err := r.Next()
			if err != nil {
				return nil, err
			}
			if child == nil || child.Tag == 0 {
				break
			}
			fname, _ := child.Val(dwarf.AttrName).(string)
			off, ok := child.Val(dwarf.AttrDataMemberLoc).(int64)
			if child.Tag == dwarf.TagMember && ok && fname != "_" {
				s.Fields[fname] = off
			}
			if child.Children {
				r.SkipChildren()
			}
		}
		found[name] = s
	}
}

// stringArray reads a global [N]string from the file image.
func stringArray(f *elf.File, symbol string) ([]string, error) {
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	for _, s := range syms {
		if s.Name != symbol {
			continue
		}
		raw, err := readAddr(f, s.Value, s.Size)
		if err != nil {
			return nil, err
		}
		out := []string{}
		for o := 0; o+16 <= len(raw); o += 16 {
			ptr := f.ByteOrder.Uint64(raw[o:])
			n := f.ByteOrder.Uint64(raw[o+8:])
			str, err := readAddr(f, ptr, n)
			if err != nil {
				return nil, fmt.Errorf("%s[%d]: %v", symbol, o/16, err)
			}
			out = append(out, string(str))
		}
		return out, nil
	}
	return nil, fmt.Errorf("no symbol %s", symbol)
}

func readAddr(f *elf.File, addr, n uint64) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOBITS && addr >= s.Addr && addr+n <= s.Addr+s.Size && s.Flags&elf.SHF_ALLOC != 0 {
			buf := make([]byte, n)
			_, err := s.ReadAt(buf, int64(addr-s.Addr))
			return buf, err
		}
	}
	return nil, fmt.Errorf("address %#x is not in the file", addr)
}
