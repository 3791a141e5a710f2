#!/bin/sh
# Builds bpf/gtop.bpf.o, which is committed so users need only libbpf.so.1.
# Needs clang (any version with BPF + BTF support) and libbpf-dev headers.
set -eu
cd "$(dirname "$0")/.."

CLANG=${CLANG:-clang}
STRIP=${LLVM_STRIP:-llvm-strip}

"$CLANG" -O2 -g -target bpf -D__TARGET_ARCH_x86 \
	-I/usr/include/x86_64-linux-gnu -Ibpf \
	-Wall -Werror \
	-c bpf/gtop.bpf.c -o bpf/gtop.bpf.o.tmp
# Keep BTF (libbpf needs it for the .rodata config and map types), drop DWARF.
"$STRIP" -g bpf/gtop.bpf.o.tmp
mv bpf/gtop.bpf.o.tmp bpf/gtop.bpf.o
echo "built bpf/gtop.bpf.o ($(wc -c < bpf/gtop.bpf.o) bytes)"
