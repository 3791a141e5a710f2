// The executable read through a file descriptor (src/binary/source.ts) must
// give what reading the whole file gave, for every toolchain and link mode;
// what setup drops (symbol table, PIE relocations) must still be answered
// afterwards from the file; and a file that shrinks, vanishes or is closed
// gives the same kinds of error as before.
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, truncateSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ElfFile, type ElfSection } from '../../src/binary/elf.ts';
import { type BinaryInfo, analyzeBinary, loadBinary } from '../../src/binary/index.ts';
import { Relocations } from '../../src/binary/relocs.ts';
import { BufferSource, FileSource } from '../../src/binary/source.ts';
import { BinaryFormatError, GtopError } from '../../src/errors.ts';
import { TOOLCHAINS, VARIANTS, fixture } from './fixtures-static.ts';

/** What a session uses from BinaryInfo, comparable with deepEqual. */
function summary(b: BinaryInfo) {
  const p = b.pclntab;
  const some = [0, 1, 2, 3, 4, 5].map((k) => p.funcForPC(p.textStart + k * 4099)).map((f) => f && { name: f.name, entry: f.entry, end: f.end });
  return {
    build: { ...b.build, settings: [...b.build.settings] }, count: p.count, textStart: p.textStart, some,
    dwarf: b.dwarf !== undefined, layout: b.layout, globals: b.globals, waitReasons: b.waitReasons, waitReasonsSource: b.waitReasonsSource,
  };
}

/** R_X86_64_RELATIVE slots by a plain reading of the file (the reference). */
function relativeRelocs(file: Buffer, elf: ElfFile): Map<number, number> {
  const out = new Map<number, number>();
  for (const sec of elf.sections.filter((s) => s.type === 4)) {
    for (let o = sec.offset; o + 24 <= sec.offset + sec.size; o += 24) {
      if (file.readUInt32LE(o + 8) === 8) out.set(Number(file.readBigUInt64LE(o)), Number(file.readBigInt64LE(o + 16)));
    }
  }
  return out;
}

/** 'ok', or the kind of GtopError (anything else fails the test). */
function outcome(load: () => BinaryInfo): string {
  try {
    load().elf.close();
    return 'ok';
  } catch (err) {
    if (err instanceof GtopError) return err.kind;
    throw err;
  }
}

function openFds(file: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  }).length;
}

for (const tc of TOOLCHAINS) {
  test(`go${tc}: loadBinary through the file equals analyzeBinary of the whole image`, async (t) => {
    for (const v of VARIANTS) {
      const bin = await fixture(tc, v);
      const viaFd = loadBinary(bin);
      try {
        t.deepEqual(summary(viaFd), summary(analyzeBinary(readFileSync(bin), bin)), `${tc} ${v}`);
      } finally {
        viaFd.elf.close();
      }
    }
  });
}

for (const tc of ['1.19', '1.26'] as const) {
  test(`go${tc}: after setup, dropped relocations and symbols are read again from the file`, async (t) => {
    for (const v of ['plain', 'pie', 'pie-ext'] as const) {
      const bin = await fixture(tc, v);
      const file = readFileSync(bin);
      const info = loadBinary(bin);
      try {
        const elf = info.elf;
        const want = relativeRelocs(file, ElfFile.parse(file));
        t.is(want.size > 0, v !== 'plain', `${v}: relocations`);
        // Spread over the table, plus moduledata's words (kept in memory).
        const addrs = [...want.keys()].filter((_, i) => i % Math.max(1, Math.floor(want.size / 16)) === 0);
        const md = info.globals.firstmoduledata!;
        for (let a = md; a < md + 336; a += 8) addrs.push(a);
        for (const a of addrs) {
          const fromFile = want.get(a) ?? Number(file.readBigUInt64LE(elf.vaddrToOffset(a)!));
          t.is(elf.readPointer(a), fromFile, `${v}: pointer at 0x${a.toString(16)}`);
        }
        // Symbols: a lookup by one pass, the same as the table setup had.
        const fresh = ElfFile.parse(file).symbols();
        for (const name of ['runtime.semtable', 'runtime.mheap_', 'runtime.allgs', 'no.such.symbol']) {
          t.deepEqual(elf.symbol(name), fresh.get(name), `${v}: ${name}`);
        }
      } finally {
        info.elf.close();
      }
    }
  });
}

test('Relocations: sorted lookup, the last of duplicate addresses wins, other types and negative addends ignored', (t) => {
  const entries: [number, number, bigint][] = [[0x3000, 8, 7n], [0x1000, 8, 1n], [0x2000, 1, 5n], [0x1000, 8, 2n], [0x4000, 8, -4n], [2 ** 40, 8, 2n ** 40n]];
  const rela = Buffer.alloc(entries.length * 24);
  entries.forEach(([addr, type, addend], i) => {
    rela.writeBigUInt64LE(BigInt(addr), i * 24);
    rela.writeBigUInt64LE(BigInt(type), i * 24 + 8);
    rela.writeBigInt64LE(addend, i * 24 + 16);
  });
  const sec: ElfSection = { index: 1, name: '.rela', type: 4, flags: 2, addr: 0, offset: 0, size: rela.length, link: 0 };
  const r = Relocations.read(new BufferSource(rela), [sec]);
  t.is(r.size, 4);
  t.is(r.get(0x1000), 2);
  t.is(r.get(0x3000), 7);
  t.is(r.get(2 ** 40), 2 ** 40);
  t.is(r.get(0x2000), undefined);
  t.is(r.get(0x4000), undefined);
  t.is(r.get(0x1008), undefined);
  t.deepEqual([0x1000, 0x3000].map((a) => r.within([{ addr: 0x3000, len: 8 }]).get(a)), [undefined, 7]);
});

test('a shrunk, deleted or closed executable: the same error kinds as reading it whole', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gtop-elf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const copy = path.join(dir, 'target');
  copyFileSync(await fixture('1.26', 'plain'), copy);
  const size = readFileSync(copy).length;

  // Truncated before loading: what analyzeBinary says of the truncated image.
  for (const cut of [32, Math.floor(size / 3), size - 100]) {
    const part = path.join(dir, `cut-${cut}`);
    copyFileSync(copy, part);
    truncateSync(part, cut);
    const whole = outcome(() => analyzeBinary(readFileSync(part), part));
    const viaFd = outcome(() => loadBinary(part));
    t.is(viaFd, whole, `cut at ${cut} of ${size}`);
    if (cut < size / 2) t.not(viaFd, 'ok');
    t.is(openFds(part), 0, 'a failed load closes the file');
  }
  t.like(t.throws(() => loadBinary(path.join(dir, 'missing'))), { kind: 'process-gone' });

  // Deleted while open (an upgraded binary): still read through the descriptor until close.
  const info = loadBinary(copy);
  const text = info.elf.section('.text')!;
  const code = info.elf.readVaddr(text.addr, 64);
  unlinkSync(copy);
  t.deepEqual(info.elf.readVaddr(text.addr, 64), code);
  t.is(openFds(`${copy} (deleted)`), 1);
  info.elf.close();
  info.elf.close();
  t.is(openFds(`${copy} (deleted)`), 0, 'close releases the deleted file');
  t.like(t.throws(() => info.elf.readVaddr(text.addr, 64)), { kind: 'internal' });

  // Shrunk after open: a format error, as a truncated image gives.
  copyFileSync(await fixture('1.26', 'plain'), copy);
  const src = new FileSource(copy, 'target');
  const elf = ElfFile.parse(src);
  truncateSync(copy, text.offset);
  t.true(t.throws(() => elf.readVaddr(text.addr, 64)) instanceof BinaryFormatError);
  t.true(t.throws(() => src.read(size - 8, 16)) instanceof BinaryFormatError, 'past the size at open');
  elf.close();
});
