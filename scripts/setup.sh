#!/usr/bin/env bash
# Prepares a Debian 12 machine (as root) to build and test gtop: system
# packages, node_modules, the Go toolchains of the test matrix, the build.
# Idempotent: steps whose result is already there are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

APT_PACKAGES=(gcc clang llvm libbpf-dev bpftool golang-1.19-go tmux bpftrace wrk)
# Keep in step with test/helpers/toolchains.ts (1.19 is Debian's, 1.26 the system go);
# go1.17.13 is outside the support matrix: the pclntab/buildinfo tests read its older formats.
GO_TOOLCHAINS=(go1.17.13 go1.20.14 go1.21.13 go1.22.12 go1.23.12 go1.24.13 go1.25.14)
GO119=/usr/lib/go-1.19/bin/go
SYSTEM_GO_MINOR=26

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

apt_packages() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
  if [ ${#missing[@]} -eq 0 ]; then
    log "apt packages: all present (${APT_PACKAGES[*]})"
    return
  fi
  [ "$(id -u)" -eq 0 ] || die "missing packages ${missing[*]}; run this script as root"
  log "apt-get update"
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

node_modules() {
  command -v npm >/dev/null || die "npm not found (Node.js 20 is expected on the machine)"
  if node_modules_current; then
    log "node_modules: matches package-lock.json"
  else
    log "npm ci"
    npm ci --no-audit --no-fund
  fi
}

# npm records what it installed in node_modules/.package-lock.json: current
# when every non-optional locked package is installed at its locked version.
node_modules_current() {
  [ -f node_modules/.package-lock.json ] || return 1
  node -e '
    const lock = require("./package-lock.json").packages;
    const inst = require("./node_modules/.package-lock.json").packages;
    for (const [k, v] of Object.entries(lock)) {
      if (k === "") continue;
      if (!inst[k] ? !v.optional : inst[k].version !== v.version) process.exit(1);
    }
    for (const k of Object.keys(inst)) if (!(k in lock)) process.exit(1);'
}

go_toolchains() {
  command -v go >/dev/null || die "go not found (the system Go 1.${SYSTEM_GO_MINOR} is expected)"
  local sys
  sys=$(GOTOOLCHAIN=local go env GOVERSION)
  case "$sys" in
    go1.${SYSTEM_GO_MINOR}|go1.${SYSTEM_GO_MINOR}.*) log "system go: $sys" ;;
    *) die "system go is $sys, the test matrix expects go1.${SYSTEM_GO_MINOR}" ;;
  esac
  [ -x "$GO119" ] || die "$GO119 missing (package golang-1.19-go)"
  log "go1.19: $("$GO119" env GOVERSION)"
  local tc got
  for tc in "${GO_TOOLCHAINS[@]}"; do
    # Outside any module, so no go.mod can ask for another toolchain. The go
    # command insists on the checksum database for toolchain downloads
    # (GOSUMDB=off makes them fail), so a failure is retried once, then fatal.
    if ! got=$(cd / && GOTOOLCHAIN="$tc" go env GOVERSION); then
      log "fetching $tc failed; retrying once"
      sleep 2
      got=$(cd / && GOTOOLCHAIN="$tc" go env GOVERSION) || die "cannot fetch Go toolchain $tc (see above)"
    fi
    [ "$got" = "$tc" ] || die "GOTOOLCHAIN=$tc runs $got"
    log "toolchain $tc: ready"
  done
}

build() {
  if node -e 'process.exit(require("./package.json").scripts?.build ? 0 : 1)'; then
    log "npm run build"
    npm run build
  else
    log "no build script"
  fi
}

apt_packages
node_modules
go_toolchains
build
log "done"
