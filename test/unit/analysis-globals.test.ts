// What the wait analysis finds in the executable: runtime.semtable and
// mheap_.arenas by disassembly in stripped binaries (against the symbol table
// of a "twin" build with the same layout, -ldflags="-w -w", as in
// globals.test.ts), and its offsets (src/analysis/layout.ts) against the
// DWARF of every supported version.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { readDwarf } from '../../src/binary/dwarf.ts';
import { ElfFile } from '../../src/binary/elf.ts';
import { SEMTABLE_SIZE, findHeapArenas, findSemtable } from '../../src/binary/globals.ts';
import { analyzeBinary } from '../../src/binary/index.ts';
import { Pclntab } from '../../src/binary/pclntab.ts';
import { analysisLayout } from '../../src/analysis/layout.ts';
import { GtopError } from '../../src/errors.ts';
import { toolchainIdentity } from '../helpers/build.ts';
import { selectedToolchains, toolchainByMinor } from '../helpers/toolchains.ts';

const run = promisify(execFile);

const SOURCE = `package main

import (
	"fmt"
	"sync"
)

type box struct{ mu sync.Mutex; c *sync.Cond; ch chan int }

func main() {
	b := &box{ch: make(chan int, 1)}
	b.c = sync.NewCond(&b.mu)
	b.mu.Lock()
	b.ch <- 1
	fmt.Println(len(b.ch), b.c != nil)
	b.mu.Unlock()
}
`;
const ROOT = join(import.meta.dirname, '../../.cache/analysis-globals', createHash('sha256').update(SOURCE).digest('hex').slice(0, 12));
const BUILDS = { plain: { mode: 'exe', ldflags: '' }, 'twin-exe': { mode: 'exe', ldflags: '-w -w' }, 'stripped-exe': { mode: 'exe', ldflags: '-s -w' },
  'twin-pie': { mode: 'pie', ldflags: '-w -w' }, 'stripped-pie': { mode: 'pie', ldflags: '-s -w' } } as const;
type Build = keyof typeof BUILDS;

async function build(minor: number, which: Build): Promise<ElfFile> {
  const out = join(ROOT, `go1.${minor}-${which}`);
  if (!existsSync(out)) {
    const src = join(ROOT, 'src');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'go.mod'), 'module gtopanalysis\n\ngo 1.19\n');
    writeFileSync(join(src, 'main.go'), SOURCE);
    const { goroot } = await toolchainIdentity(toolchainByMinor(minor));
    const { mode, ldflags } = BUILDS[which];
    const tmp = `${out}.tmp-${process.pid}`;
    const args = ['build', `-buildmode=${mode}`, '-o', tmp, ...(ldflags ? [`-ldflags=${ldflags}`] : []), '.'];
    await run(join(goroot, 'bin', 'go'), args, { cwd: src, env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod', GOWORK: 'off', CGO_ENABLED: '0' } });
    renameSync(tmp, out);
  }
  return ElfFile.parse(readFileSync(out));
}

function symLookup(elf: ElfFile) {
  const syms = elf.symbols();
  return {
    funcByName(name: string) {
      const s = syms.get(name);
      return s && s.type === 2 ? { entry: s.value, end: s.value + s.size } : undefined;
    },
  };
}

const DWARF_STRUCTS = ['runtime.mheap', 'runtime.heapArena', 'runtime.mspan', 'runtime.hchan', 'runtime.sudog', 'runtime.semaRoot',
  'runtime.notifyList', 'sync.notifyList', 'sync.Cond', 'runtime._type', 'internal/abi.Type', 'runtime.moduledata'];

for (const { minor } of selectedToolchains()) {
  test.serial(`Go 1.${minor}: the analysis offsets are the DWARF's`, async (t) => {
    const path = join(ROOT, `go1.${minor}-plain`);
    const elf = await build(minor, 'plain');
    const d = readDwarf(elf, { structs: DWARF_STRUCTS, variables: [] })!;
    const off = (s: string, f: string) => {
      const v = d.structs.get(s)?.fields.get(f)?.offset;
      if (v === undefined) throw new Error(`no ${s}.${f} in the DWARF of Go 1.${minor}`);
      return v;
    };
    const L = analysisLayout(analyzeBinary(readFileSync(path), path));
    t.deepEqual(L.heap, {
      arenasOffset: off('runtime.mheap', 'arenas'), arenaSpans: off('runtime.heapArena', 'spans'),
      spanStartAddr: off('runtime.mspan', 'startAddr'), spanNpages: off('runtime.mspan', 'npages'),
      spanElemsize: off('runtime.mspan', 'elemsize'), spanState: off('runtime.mspan', 'state'),
    });
    const type = d.structs.has('internal/abi.Type') ? { s: 'internal/abi.Type', tflag: 'TFlag', str: 'Str' } : { s: 'runtime._type', tflag: 'tflag', str: 'str' };
    t.deepEqual(L.type, { tflag: off(type.s, type.tflag), str: off(type.s, type.str) });
    t.deepEqual([L.hchan.sendx, L.hchan.recvx, L.hchan.qcount, L.hchan.elemtype], ['sendx', 'recvx', 'qcount', 'elemtype'].map((f) => off('runtime.hchan', f)));
    t.deepEqual([L.sudog.parent, L.sudog.waittail, L.sudog.waitlink], ['parent', 'waittail', 'waitlink'].map((f) => off('runtime.sudog', f)));
    // The linker keeps runtime.notifyList's DWARF only when something names it; sync's mirror of it always is.
    const nl = d.structs.has('runtime.notifyList') ? 'runtime.notifyList' : 'sync.notifyList';
    t.deepEqual([L.semaRoot.treap, L.notifyList.head, L.notifyList.tail, L.condNotify],
      [off('runtime.semaRoot', 'treap'), off(nl, 'head'), off(nl, 'tail'), off('sync.Cond', 'notify')]);
    t.deepEqual(L.moduledata, Object.fromEntries(['types', 'etypes', 'data', 'edata', 'bss', 'ebss'].map((f) => [f, off('runtime.moduledata', f)])));
    // The semtable stride: 251 roots of one cache line each.
    t.is(d.structs.get('runtime.semaRoot')!.size <= 64, true);
  });

  for (const mode of ['exe', 'pie'] as const) {
    test.serial(`Go 1.${minor} ${mode}: semtable and mheap_.arenas found by disassembly in a stripped build`, async (t) => {
      const plain = await build(minor, 'plain');
      const twin = await build(minor, `twin-${mode}`);
      const stripped = await build(minor, `stripped-${mode}`);
      t.is(stripped.symbols().size, 0);
      const arenasOffset = readDwarf(plain, { structs: ['runtime.mheap'], variables: [] })!.structs.get('runtime.mheap')!.fields.get('arenas')!.offset;
      const sym = (elf: ElfFile, n: string) => elf.symbols().get(n)!.value;

      // The symtab path, and the disassembly path on the same binary.
      t.is(findSemtable(plain, symLookup(plain)), sym(plain, 'runtime.semtable'));
      t.is(findSemtable(plain, symLookup(plain), { ignoreSymtab: true }), sym(plain, 'runtime.semtable'));
      t.is(findHeapArenas(plain, symLookup(plain), arenasOffset), sym(plain, 'runtime.mheap_') + arenasOffset);
      t.is(findHeapArenas(plain, symLookup(plain), arenasOffset, { ignoreSymtab: true }), sym(plain, 'runtime.mheap_') + arenasOffset);

      // The stripped build, with function bounds from its own pclntab.
      const pcln = Pclntab.fromElf(stripped);
      t.is(findSemtable(stripped, pcln), sym(twin, 'runtime.semtable'));
      t.is(findHeapArenas(stripped, pcln, arenasOffset), sym(twin, 'runtime.mheap_') + arenasOffset);
      t.is(twin.symbols().get('runtime.semtable')!.size, SEMTABLE_SIZE);
    });
  }
}

test.serial('mutated semacquire1/semrelease1/findObject: a correct answer, undefined, or a GtopError', async (t) => {
  const path = join(ROOT, 'go1.26-stripped-pie');
  await build(26, 'stripped-pie');
  const twin = await build(26, 'twin-pie');
  const lookup = symLookup(twin);
  const pristine = readFileSync(path);
  const want = [twin.symbols().get('runtime.semtable')!.value, twin.symbols().get('runtime.mheap_')!.value + 66008];
  const ranges = ['runtime.semacquire1', 'runtime.semrelease1', 'runtime.findObject'].map((n) => lookup.funcByName(n)!);
  const elf0 = ElfFile.parse(pristine);
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  const outcomes = { same: 0, none: 0, rejected: 0, other: 0 };
  for (let i = 0; i < 150; i++) {
    const data = Buffer.from(pristine);
    const f = ranges[rand(ranges.length)]!;
    for (let k = 0; k < 1 + rand(6); k++) data[elf0.vaddrToOffset(f.entry + rand(f.end - f.entry))!] = rand(256);
    try {
      const elf = ElfFile.parse(data);
      const got = [findSemtable(elf, lookup), findHeapArenas(elf, lookup, 66008)];
      for (let j = 0; j < 2; j++) {
        if (got[j] === undefined) outcomes.none++;
        else if (got[j] === want[j]) outcomes.same++;
        else outcomes.other++; // a different writable address: caught by the live checks (heap index validation)
      }
    } catch (err) {
      if (!(err instanceof GtopError)) throw err;
      outcomes.rejected++;
    }
  }
  t.log(outcomes);
  t.true(outcomes.same > 0);
});
