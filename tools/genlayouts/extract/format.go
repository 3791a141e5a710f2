package main

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// format writes the table with one struct per line and fields in offset
// order, so that a diff between two generations reads like a layout change.
func format(table map[string]Entry) string {
	var b strings.Builder
	b.WriteString("{\n")
	minors := keys(table)
	sort.Slice(minors, func(i, j int) bool { return atoi(minors[i]) < atoi(minors[j]) })
	for i, minor := range minors {
		e := table[minor]
		b.WriteString("  " + quote(minor) + ": {\n")
		b.WriteString("    \"goVersion\": " + quote(e.GoVersion) + ",\n")
		b.WriteString("    \"structs\": {\n")
		names := keys(e.Structs)
		sort.Strings(names)
		for j, name := range names {
			s := e.Structs[name]
			b.WriteString("      " + quote(name) + ": {\"size\": " + strconv.FormatInt(s.Size, 10) +
				", \"fields\": " + byValue(s.Fields) + "}" + comma(j, len(names)) + "\n")
		}
		b.WriteString("    },\n")
		b.WriteString("    \"waitReasons\": " + marshal(e.WaitReasons) + ",\n")
		b.WriteString("    \"gStatusStrings\": " + marshal(e.GStatusStrings) + ",\n")
		b.WriteString("    \"funcIDs\": " + byValue(e.FuncIDs) + ",\n")
		b.WriteString("    \"funcFlags\": " + byValue(e.FuncFlags) + "\n")
		b.WriteString("  }" + comma(i, len(minors)) + "\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// byValue renders a name→number map ordered by number, then name.
func byValue(m map[string]int64) string {
	names := keys(m)
	sort.Slice(names, func(i, j int) bool {
		if m[names[i]] != m[names[j]] {
			return m[names[i]] < m[names[j]]
		}
		return names[i] < names[j]
	})
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = quote(n) + ": " + strconv.FormatInt(m[n], 10)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func marshal(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}

func quote(s string) string { return marshal(s) }

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func comma(i, n int) string {
	if i < n-1 {
		return ","
	}
	return ""
}
