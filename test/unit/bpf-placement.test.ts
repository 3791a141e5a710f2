// Probe placement on real machine code: functions captured from Go
// binaries built with the named toolchain (bytes as in the file), plus
// synthetic code for the edge cases. The expected sites were read off
// `go tool objdump` of the same binaries.
import test from 'ava';
import { BinaryFormatError } from '../../src/errors.ts';
import { kernelEmulation, placeEntryProbe, placeReturnProbes } from '../../src/bpf/placement.ts';

const FUNCS = {
  // runtime.gopark, Go 1.19 (linux/amd64), entry 0x430ee0
  gopark119: { entry: 0x430ee0, hex:
    '493b66100f86e90000004883ec1848896c2410488d6c2410498b563090ff8208010000498b56304d89f04184004c8b82c000000090458b8890000000' +
    '0f1f40004183f902740d4181f9021000000f858e000000833d96410c0000751048899a8002000048898278020000eb214c8d8a800200004189fa4c89' +
    'cfe8624d0200488dba78020000e8164c02004489d7418888b00000004088ba880200004889b290020000908b8a080100008d59ff899a0801000083f9' +
    '0175134180beb10000000090740849c74610defaffff488d05f7d00300e82a470200488b6c24104883c41890c3488d0595880300bb14000000e86ed3' +
    'ffff90488944240848895c2410884c241840887c24194889742420e8b0480200488b442408488b5c24100fb64c24180fb67c2419488b742420e9d2fe' +
    'ffff' },
  // runtime.gopark, Go 1.26 (linux/amd64), entry 0x476a60
  gopark126: { entry: 0x476a60, hex:
    '493b66100f86dc000000554889e54883ec10498b563090ff8208010000498b56304c8b82b80000009090458b88900000004181c9001000000f1f8400' +
    '000000004181f9021000000f8587000000833dbc060f000074224c8b8a000300004c8b92f8020000e8775a000049891b4d894b08498943104d895318' +
    '48899a00030000488982f8020000418888b00000004088ba100300004889b2080300008b8a080100008d59ff90899a0801000083f90175124180beb1' +
    '00000000740849c74610defaffff488d051f3e0300e8523e00004883c4105dc3488d0561d20200bb14000000e8bbfeffff90488944240848895c2410' +
    '884c241840887c241948897424206690e81b400000488b442408488b5c24100fb64c24180fb67c2419488b7424206690e9dbfeffff' },
  // runtime.goexit1, Go 1.26 (linux/amd64), entry 0x44f6a0
  goexit1126: { entry: 0x44f6a0, hex:
    '493b66100f868c000000554889e54883ec18803d778a0f0000750731db31c090eb05e8d9ca01004885db74584889442410e8cad70100488b4c24108b' +
    '91500300009085d2760affca899150030000eb0d488d9120030000909031db861a8b91080100008d5aff9089990801000083fa0175124180beb10000' +
    '0000740849c74610defaffff488d05adaf0500e850b202004883c4185dc3e845b402000f1f440000e95bffffff' },
  // runtime.makechan, Go 1.26 (linux/amd64), entry 0x411e00
  makechan126: { entry: 0x411e00, hex:
    '493b66100f86de010000554889e54883ec30488b5030488b020f1f8000000000483d000001000f83aa010000807a15080f878f010000488954242048' +
    'f7e366900f806b01000048ba90ffffffffff00004839d00f87580100000f1f80000000004885db0f8c4801000048895c24484885c00f849e00000048' +
    '8b54242048837a080074554889442418488d05f1b90800e8ac9b00004889442428488b442418488b5c2420b901000000e8533d0600833dbc52150000' +
    '7507488b4c2428eb15488b4c2428488b5110e835a606004989034989530848894110eb744883c07031dbb901000000e8183d06008400488d5070833d' +
    '7b521500007415488b48100f1f440000e8fba5060049891349894b08488950104889c1eb37b87000000031dbb901000000e8da3c06008400488d5010' +
    '833d3d521500007410488b4810e8c2a5060049891349894b08488950104889c1488b542420488b1a66895918833d1152150000907410488b5928e895' +
    'a5060049891349895b0848895128488b54244848895108498b96880100004885d2741d833dde511500007410488b5960e863a5060049891349895b08' +
    '488951604889c84883c4305dc3488d05c8e90700488d1dd190090090e8db450600488d0583250900bb17000000e82a4a0600488d054a5b0900bb2600' +
    '0000e8194a060090488944240848895c2410e8898b0600488b442408488b5c2410e9fafdffff' },
  // runtime.ready, Go 1.21 (linux/amd64), entry 0x430b20
  ready121: { entry: 0x430b20, hex:
    '493b66100f86e1010000554889e54883ec40884c241f4889442450803d868b0a0000740fe857b00100488b4424500fb64c241f908b90900000000fba' +
    'f20c498b763090ff860801000083fa04756f498b56304889542430bb04000000b901000000e85a070000488b542430488b82d0000000488b5c24500f' +
    'b64c241f0f1f4000e85bad0000e8b62d0000488b5424308bb2080100008d7eff9089ba080100009083fe0175124180beb100000000740849c74610de' +
    'faffff4883c4405dc34c8974243890908b889000000089c948894c2428488b909800000048895424200f1f00e8dbd9ffff488d05fc9f0300bb120000' +
    '00e84ae2ffff488b4424500f1f440000e8bbe1ffff488d051c880300bb07000000e82ae2ffff488b4424200f1f440000e85bdfffff488d051ba20300' +
    'bb13000000e80ae2ffff488b4424280f1f440000e83bdfffffe8b6dbffffe8d1d9ffff488b4424388b889000000089c948894c2428488b9098000000' +
    '4889542420e84ed9ffff488d05819f0300bb120000006690e8bbe1ffff488b442438e831e1ffff488d0592870300bb070000000f1f440000e89be1ff' +
    'ff488b442420e8d1deffff488d0562a20300bb130000000f1f440000e87be1ffff488b442428e8b1deffffe82cdbffffe847d9ffff488d05eba90300' +
    'bb16000000e8b6bdffff90488944240848895c2410884c2418e8a2420200488b442408488b5c24100fb64c2418e9eefdffff' },
};

function code(name: keyof typeof FUNCS): [Buffer, number] {
  const f = FUNCS[name];
  return [Buffer.from(f.hex, 'hex'), f.entry];
}

const hex = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');

test('kernelEmulation mirrors Linux 6.18 arch/x86/kernel/uprobes.c', (t) => {
  const cases: [string, string | undefined][] = [
    ['90', 'nop'], ['66 90', 'nop'], ['0f 1f 00', 'nop'], ['0f 1f 40 00', 'nop'], ['0f 1f 44 00 00', 'nop'],
    ['66 0f 1f 44 00 00', 'nop'], ['0f 1f 80 00 00 00 00', 'nop'], ['0f 1f 84 00 00 00 00 00', 'nop'],
    // 9-byte NOP: longer than ASM_NOP_MAX, single-stepped.
    ['66 0f 1f 84 00 00 00 00 00', undefined],
    ['eb 05', 'jmp'], ['e9 db fe ff ff', 'jmp'], ['e8 50 b2 02 00', 'call'],
    ['74 19', 'jcc'], ['0f 86 dc 00 00 00', 'jcc'],
    ['55', 'push'], ['41 56', 'push'], ['48 55', undefined],
    // Prologue and bookkeeping instructions are single-stepped.
    ['49 3b 66 10', undefined], ['48 89 e5', undefined], ['48 83 ec 18', undefined], ['c3', undefined], ['5d', undefined],
    ['f3 90', undefined],
  ];
  for (const [bytes, want] of cases) t.is<string | undefined, string | undefined>(kernelEmulation(hex(bytes)), want, bytes);
});

test('gopark 1.26: the inline-mark NOP after PUSH/MOV/SUB, frame established', (t) => {
  const [c, entry] = code('gopark126');
  const p = placeEntryProbe('runtime.gopark', c, entry, ['r14', 'rbx', 'rcx']);
  t.is(p.sites.length, 1);
  t.like(p.sites[0], { offset: 0x16, bytes: '90', emulation: 'nop', frame: 'established', vaddr: entry + 0x16 });
});

test('gopark 1.19: NOP after the SUB/MOV/LEA frame setup', (t) => {
  const [c, entry] = code('gopark119');
  const p = placeEntryProbe('runtime.gopark', c, entry, ['r14', 'rbx', 'rcx']);
  t.like(p.sites[0], { offset: 0x1c, bytes: '90', emulation: 'nop', frame: 'established' });
});

test('ready 1.21: the JE after the frame setup while AX is still intact', (t) => {
  const [c, entry] = code('ready121');
  const p = placeEntryProbe('runtime.ready', c, entry, ['rax', 'r14']);
  t.like(p.sites[0], { offset: 0x22, bytes: '740f', emulation: 'jcc', frame: 'established' });
});

test('a register written early limits the choice to PUSH RBP (entry-push frame)', (t) => {
  const [c, entry] = code('gopark126');
  // MOVQ 0x30(R14), DX at +0x12 writes RDX.
  const p = placeEntryProbe('runtime.gopark', c, entry, ['r14', 'rdx']);
  t.like(p.sites[0], { offset: 0xa, bytes: '55', emulation: 'push', frame: 'entry-push' });
});

test('never the stack-check branch itself, in every captured function', (t) => {
  for (const name of Object.keys(FUNCS) as (keyof typeof FUNCS)[]) {
    const [c, entry] = code(name);
    const p = placeEntryProbe(name, c, entry, ['r14']);
    // CMP (4 bytes) + JBE: 2 or 6 bytes.
    t.true(p.sites[0]!.offset >= 6, `${name}: +0x${p.sites[0]!.offset.toString(16)}`);
    t.truthy(p.sites[0]!.emulation, name);
  }
});

test('forced entry placement probes the first instruction', (t) => {
  const [c, entry] = code('goexit1126');
  const p = placeEntryProbe('runtime.goexit1', c, entry, ['r14'], true);
  t.like(p.sites[0], { offset: 0, bytes: '493b6610', emulation: undefined, frame: 'incomplete' });
  t.regex(p.reason, /forced/);
});

test('entry fallback when nothing emulated precedes the clobber', (t) => {
  // CMP SP,16(R14); JBE morestack; MOV RBX,RAX; PUSH RBP; RET; morestack: CALL; JMP entry
  const entry = 0x1000;
  const c = hex('49 3b 66 10  76 06  48 89 c3  55  c3  cc  e8 00 00 00 00  eb ed');
  const p = placeEntryProbe('f', c, entry, ['rbx']);
  t.like(p.sites[0], { offset: 0, frame: 'incomplete' });
  t.regex(p.reason, /rbx written/);
  // Without that register the PUSH after the MOV is fine.
  t.like(placeEntryProbe('f', c, entry, ['rax']).sites[0], { offset: 9, bytes: '55' });
});

test('a loop head is never probed: it would fire more than once per call', (t) => {
  // nosplit: DEC RCX; loop: NOP; DEC RCX; JNZ loop; RET
  const c = hex('48 ff c9  90  48 ff c9  75 fa  c3');
  const p = placeEntryProbe('f', c, 0x2000, ['rax']);
  t.is(p.sites[0]!.offset, 0);
  t.regex(p.reason, /branch target/);
});

test('makechan 1.26: one RET', (t) => {
  const [c, entry] = code('makechan126');
  const p = placeReturnProbes('runtime.makechan', c, entry);
  t.deepEqual(p.sites.map((s) => s.offset), [0x1b0]);
  t.is(p.sites[0]!.bytes, 'c3');
  t.deepEqual(p.warnings, []);
});

test('every RET and a warning for tail jumps out of the function', (t) => {
  // JE +1; RET; RET 8; JMP far away
  const c = hex('74 01  c3  c2 08 00  e9 00 10 00 00');
  const p = placeReturnProbes('f', c, 0x3000);
  t.deepEqual(p.sites.map((s) => s.offset), [2, 3]);
  t.is(p.warnings.length, 1);
  t.regex(p.warnings[0]!, /tail jump at \+0x6/);
});

test('garbage: no RET is a BinaryFormatError, empty code too', (t) => {
  t.throws(() => placeReturnProbes('f', hex('90 90 90'), 0x1000), { instanceOf: BinaryFormatError });
  t.throws(() => placeEntryProbe('f', Buffer.alloc(0), 0x1000, []), { instanceOf: BinaryFormatError });
  // Random bytes decode to something; placement must not throw anything else or hang.
  const rnd = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24));
  t.notThrows(() => placeEntryProbe('f', rnd, 0x1000, ['rax', 'r14']));
});
