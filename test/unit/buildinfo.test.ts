// Build info against debug/buildinfo for every toolchain × {plain, -s -w,
// PIE}, with and without section headers, plus version parsing and bad input.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { isSupportedGo, parseGoVersion, readBuildInfo } from '../../src/binary/buildinfo.ts';
import { ElfFile } from '../../src/binary/elf.ts';
import { BinaryFormatError, GtopError } from '../../src/errors.ts';
import { ALL_TOOLCHAINS, fixture, fixtures, buildInfoTruth, VARIANTS, withoutSections } from './fixtures-static.ts';

for (const tc of ALL_TOOLCHAINS) {
  test(`go${tc}: readBuildInfo matches debug/buildinfo`, async (t) => {
    await fixtures(tc);
    for (const v of VARIANTS) {
      const bin = await fixture(tc, v);
      const truth = buildInfoTruth(bin);
      const elf = ElfFile.parse(readFileSync(bin));
      for (const e of [elf, withoutSections(elf)]) {
        const what = `${v}${e.sections.length ? '' : ' (no sections)'}`;
        const bi = readBuildInfo(e);
        t.is(bi.goVersion, truth.GoVersion, what);
        t.regex(bi.goVersion, new RegExp(`^go${tc.replace('.', '\\.')}\\.\\d+$`));
        t.is(bi.goMinor, Number(tc.split('.')[1]), what);
        t.is(bi.goPatch, Number(bi.goVersion.split('.')[2]), what);
        t.is(bi.mainPath, truth.Path, what);
        t.is(bi.module, truth.Main.Path, what);
        t.deepEqual([...bi.settings], (truth.Settings ?? []).map((s) => [s.Key, s.Value ?? '']), what);
        t.true(bi.modinfo.startsWith('path\texample.com/fixture\n'), what);
      }
      const bi = readBuildInfo(elf);
      if (tc !== '1.17') {
        // Quoted values are unquoted like runtime/debug.ParseBuildInfo does.
        if (v === 'stripped') t.is(bi.settings.get('-ldflags'), '-s -w');
        // 1.19 records no -buildmode setting.
        if (tc !== '1.19') t.is(bi.settings.get('-buildmode'), v.startsWith('pie') ? 'pie' : 'exe');
        t.is(bi.settings.get('GOARCH'), 'amd64');
      }
    }
  });
}

test('parseGoVersion is tolerant of release, devel and experiment forms', async (t) => {
  t.deepEqual(parseGoVersion('go1.20'), { minor: 20, patch: 0 });
  t.deepEqual(parseGoVersion('go1.22.12'), { minor: 22, patch: 12 });
  t.deepEqual(parseGoVersion('go1.21.0 X:loopvar'), { minor: 21, patch: 0 });
  t.deepEqual(parseGoVersion('go1.26.0-X:goroutineleakprofile'), { minor: 26, patch: 0 });
  t.deepEqual(parseGoVersion('devel go1.23-1a2b3c4d Tue Jan 2 15:04:05 2024 +0000'), { minor: 23, patch: 0 });
  t.deepEqual(parseGoVersion('go1.22rc1'), { minor: 22, patch: 0 });
  const err = t.throws(() => parseGoVersion('devel +abcdef'));
  t.true(err instanceof GtopError && err.kind === 'unsupported-go');
});

test('isSupportedGo covers 1.19 to 1.26', async (t) => {
  t.deepEqual([17, 18, 19, 22, 26, 27].map(isSupportedGo), [false, false, true, true, true, false]);
  t.false(isSupportedGo(Number.NaN));
});

test('not a Go executable → GtopError not-go', async (t) => {
  for (const elf of [ElfFile.parse(readFileSync('/bin/true')), withoutSections(ElfFile.parse(readFileSync('/bin/true')))]) {
    const err = t.throws(() => readBuildInfo(elf));
    t.true(err instanceof GtopError && err.kind === 'not-go', String(err));
  }
});

test('corrupted build info → BinaryFormatError, or not-go once the magic is gone', async (t) => {
  const elf = ElfFile.parse(readFileSync(await fixture('1.26', 'plain')));
  const sec = elf.section('.go.buildinfo')!;
  // A huge uvarint length for the version string.
  const huge = Buffer.from(elf.source.read(0, elf.source.size));
  huge.set([0xff, 0xff, 0xff, 0xff, 0x0f], sec.offset + 32);
  const e1 = t.throws(() => readBuildInfo(ElfFile.parse(huge)));
  t.true(e1 instanceof BinaryFormatError, String(e1));
  // An unterminated uvarint.
  const endless = Buffer.from(elf.source.read(0, elf.source.size));
  endless.fill(0xff, sec.offset + 32, sec.offset + 64);
  t.true(t.throws(() => readBuildInfo(ElfFile.parse(endless))) instanceof BinaryFormatError);
  // The magic destroyed: the section is malformed; without sections, no Go binary is recognised.
  const nomagic = Buffer.from(elf.source.read(0, elf.source.size));
  nomagic[sec.offset + 3] = 0;
  t.true(t.throws(() => readBuildInfo(ElfFile.parse(nomagic))) instanceof BinaryFormatError);
  const e4 = t.throws(() => readBuildInfo(withoutSections(ElfFile.parse(nomagic))));
  t.true(e4 instanceof GtopError && e4.kind === 'not-go', String(e4));
  // Random damage anywhere in the section: a GtopError or a result, never anything else.
  for (let i = 0; i < 200; i++) {
    const buf = Buffer.from(elf.source.read(0, elf.source.size));
    buf[sec.offset + 14 + ((i * 7919) % (sec.size - 14))] = (i * 31) & 0xff;
    try {
      readBuildInfo(ElfFile.parse(buf));
    } catch (err) {
      if (!(err instanceof GtopError)) t.fail(String(err));
    }
  }
});
