#!/usr/bin/env bash
# Regenerates src/runtime/layouts.generated.json: builds the probe program
# (tools/genlayouts/probe) with each Go toolchain and reads the runtime's
# struct layouts, wait-reason and status strings, FuncIDs and FuncFlags out of
# the binaries (tools/genlayouts/extract). Entries of versions not named are kept.
#
#   scripts/gen-layouts.sh [TOOLCHAIN...]        update the table (default: all supported)
#   scripts/gen-layouts.sh --print TOOLCHAIN...  print the entries instead
#   scripts/gen-layouts.sh --probe TOOLCHAIN [--stripped]
#                                                print the path of the cached probe binary
#
# TOOLCHAIN is goX.Y.Z (run through GOTOOLCHAIN), a path to a go command,
# "system" (the go on PATH), or a minor version (19..26) meaning the default
# toolchain of that version below.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
src=$root/tools/genlayouts
cache=$root/.cache/genlayouts
table=$root/src/runtime/layouts.generated.json
defaults=(/usr/lib/go-1.19/bin/go go1.20.14 go1.21.13 go1.22.12 go1.23.12 go1.24.13 go1.25.14 system)

die() { echo "gen-layouts: $*" >&2; exit 1; }

# Maps a minor version (21 or 1.21) to the default toolchain of that version;
# other specs pass through.
resolve() {
  [[ $1 =~ ^(1\.)?([0-9]+)$ ]] || { echo "$1"; return; }
  local m=${BASH_REMATCH[2]} t v
  for t in "${defaults[@]}"; do
    case $t in
      go1.*) v=${t#go1.}; v=${v%%.*} ;;
      system) v=$(GOTOOLCHAIN=local go env GOVERSION); v=${v#go1.}; v=${v%%.*} ;;
      *) v=$(basename "$(dirname "$(dirname "$t")")"); v=${v##*-1.} ;;   # /usr/lib/go-1.19/bin/go
    esac
    [[ $v == "$m" ]] && { echo "$t"; return; }
  done
  return 0   # empty output: no default toolchain for that version
}

# Runs the go command of a toolchain spec.
gocmd() {
  local tc=$1; shift
  case $tc in
    system) GOTOOLCHAIN=local go "$@" ;;
    go1.*) GOTOOLCHAIN=$tc go "$@" ;;
    */*) [[ -x $tc ]] || die "no go command at $tc"; GOTOOLCHAIN=local "$tc" "$@" ;;
    *) die "unknown toolchain '$tc'" ;;
  esac
}

# Builds the probe with toolchain $1 (cached by toolchain and source hash)
# and prints the binary's path. $2 = "stripped" for -ldflags="-s -w".
probe() {
  local tc=$1 variant=${2:-}
  local version flags=() hash out tmp
  version=$(cd "$src" && gocmd "$tc" env GOVERSION)
  [[ $variant == stripped ]] && flags=(-ldflags=-s\ -w)
  hash=$(cat "$src/go.mod" "$src/probe/main.go" <(echo "$version ${flags[*]:-}") | sha256sum | cut -c1-12)
  out=$cache/probe-$version-$hash${variant:+-$variant}
  if [[ ! -x $out ]]; then
    mkdir -p "$cache"
    tmp=$(mktemp "$cache/.probe.XXXXXX")
    (cd "$src" && gocmd "$tc" build -buildvcs=false "${flags[@]}" -o "$tmp" ./probe) || { rm -f "$tmp"; die "building the probe with $tc failed"; }
    mv -f "$tmp" "$out"   # atomic: concurrent callers see a whole binary or none
  fi
  echo "$out"
}

# Builds the extractor with the system go (cached by source hash).
extractor() {
  local hash out tmp
  hash=$(cat "$src/go.mod" "$src"/extract/*.go | sha256sum | cut -c1-12)
  out=$cache/extract-$hash
  if [[ ! -x $out ]]; then
    mkdir -p "$cache"
    tmp=$(mktemp "$cache/.extract.XXXXXX")
    (cd "$src" && GOTOOLCHAIN=local go build -buildvcs=false -o "$tmp" ./extract) || { rm -f "$tmp"; die "building the extractor failed"; }
    mv -f "$tmp" "$out"
  fi
  echo "$out"
}

# Prints BINARY:GOROOT for each toolchain, the extractor's arguments.
targets() {
  local tc
  for spec in "$@"; do
    tc=$(resolve "$spec")
    [[ -n $tc ]] || die "no default toolchain for '$spec'"
    echo "$(probe "$tc"):$(cd "$src" && gocmd "$tc" env GOROOT)"
  done
}

mode=write
case ${1:-} in
  --probe)
    [[ $# -ge 2 ]] || die "usage: $0 --probe TOOLCHAIN [--stripped]"
    tc=$(resolve "$2")
    [[ -n $tc ]] || die "no default toolchain for '$2'"
    probe "$tc" "$([[ ${3:-} == --stripped ]] && echo stripped)"
    exit 0 ;;
  --print) mode=print; shift ;;
  -*) die "unknown option $1" ;;
esac
[[ $# -gt 0 ]] || set -- "${defaults[@]}"

ex=$(extractor)
mapfile -t args < <(targets "$@")
[[ ${#args[@]} -eq $# ]] || die "could not build every probe"
if [[ $mode == print ]]; then
  "$ex" "${args[@]}"
else
  "$ex" -out "$table" "${args[@]}"
  echo "wrote $table" >&2
fi
