// Probe placement on real machine code: functions captured from Go
// binaries built with the named toolchain (bytes as in the file), plus
// synthetic code for the edge cases. The expected sites were read off
// `go tool objdump` of the same binaries.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { BinaryFormatError } from '../../src/errors.ts';
import { kernelEmulation, placeEntryProbe, placeReturnProbes } from '../../src/bpf/placement.ts';
import { callSitesIn, findCallSites, placeResultProbes } from '../../src/bpf/result-sites.ts';
import { PT_REGS_OFFSET, siteCookie } from '../../src/bpf/session.ts';

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

// The callers of runtime.newproc1, captured like FUNCS above; `callee` is
// newproc1's entry in the same binary. newcoro (iter.Pull, 1.23+) and
// synctestRun (testing/synctest, 1.25+) come from programs using them.
const CALLERS = {
  // runtime.newproc.func1, Go 1.19.8 (linux/amd64); runtime.newproc1 at 0x43ca40
  newproc19: { entry: 0x43c9c0, callee: 0x43ca40, hex:
    '493b661076574883ec2048896c2418488d6c2418488b5a10488b4a18488b4208e85b000000498b5630488b92d00000004889c3b9010000004889d00f' +
    '1f440000e83b410000803de1881200007405e86dc1ffff488b6c24184883c420c30f1f00e89be90100eb99cccccccccccccccccccccccccccccccccc' +
    'cccccccccccccccc' },
  // runtime.newproc.func1, Go 1.20.14 (linux/amd64); runtime.newproc1 at 0x43c240
  newproc20: { entry: 0x43c1c0, callee: 0x43c240, hex:
    '493b661076574883ec2048896c2418488d6c2418488b5a10488b4a18488b4208e85b000000498b5630488b92d00000004889c3b9010000004889d00f' +
    '1f440000e89b410000803d00e01200007405e8cdbfffff488b6c24184883c420c30f1f00e87b020200eb99cccccccccccccccccccccccccccccccccc' +
    'cccccccccccccccc' },
  // runtime.newproc.func1, Go 1.21.13 (linux/amd64); runtime.newproc1 at 0x43be00
  newproc21: { entry: 0x43bda0, callee: 0x43be00, hex:
    '493b66107648554889e54883ec18488b4208488b5a10488b4a18e841000000498b5630488b92d00000004889c3b9010000004889d0e886400000803d' +
    '93f91100007405e8d8c0ffff4883c4185dc3e80df60100ebabcccccccccccccccccccccc' },
  // runtime.newproc.func1, Go 1.22.12 (linux/amd64); runtime.newproc1 at 0x43f8a0
  newproc22: { entry: 0x43f840, callee: 0x43f8a0, hex:
    '493b66107648554889e54883ec18488b5a10488b4a18488b4208e841000000498b5630488b92d00000004889c3b9010000004889d0e886440000803d' +
    '33be1500007405e858b6ffff4883c4185dc3e8cd120200ebabcccccccccccccccccccccc' },
  // runtime.newproc.func1, Go 1.23.12 (linux/amd64); runtime.newproc1 at 0x43eee0
  newproc23: { entry: 0x43ee60, callee: 0x43eee0, hex:
    '493b66107653554889e54883ec20488b5a10488b4a18488b420831ff31f66690e85b000000498b5630488b92d00000004889c3b9010000004889d00f' +
    '1f440000e87b430000803d69391400007405e80d6602004883c4205dc3e8c2b202006690eb9ecccccccccccccccccccccccccccccccccccccccccccc' +
    'cccccccccccccccc' },
  // runtime.newproc.func1, Go 1.24.13 (linux/amd64); runtime.newproc1 at 0x443500
  newproc24: { entry: 0x443480, callee: 0x443500, hex:
    '493b66107653554889e54883ec20488b5a10488b4a18488b420831ff31f66690e85b000000498b5630488b92d00000004889c3b9010000004889d00f' +
    '1f440000e87b430000803d89a01400007405e82d4a02004883c4205dc3e8629002006690eb9ecccccccccccccccccccccccccccccccccccccccccccc' +
    'cccccccccccccccc' },
  // runtime.newproc.func1, Go 1.25.14 (linux/amd64); runtime.newproc1 at 0x448b60
  newproc25: { entry: 0x448ae0, callee: 0x448b60, hex:
    '493b66107653554889e54883ec20488b5a10488b4a18488b420831ff31f66690e85b000000498b5630488b92c80000004889c3b9010000004889d00f' +
    '1f440000e83b480000803dcb511500007405e88d5c02004883c4205dc3e882a402006690eb9ecccccccccccccccccccccccccccccccccccccccccccc' +
    'cccccccccccccccc' },
  // runtime.newproc.func1, Go 1.26.8 (linux/amd64); runtime.newproc1 at 0x4534c0
  newproc26: { entry: 0x453440, callee: 0x4534c0, hex:
    '493b66107653554889e54883ec20488b5a10488b4a18488b420831ff31f66690e85b000000498b5630488b92d00000004889c3b9010000004889d00f' +
    '1f440000e89b500000803d4cdd1500007405e8ed6802004883c4205dc3e862ae02006690eb9ecccccccccccccccccccccccccccccccccccccccccccc' +
    'cccccccccccccccc' },
  // runtime.debugCallWrap.func1, Go 1.19.8 (linux/amd64); runtime.newproc1 at 0x43ca40
  debugCallWrap19: { entry: 0x4069c0, callee: 0x43ca40, hex:
    '493b66100f863c0100004883ec4848896c2440488d6c2440488b4a10488b72184889742418488b7a2048897c24304c8b42284c89442438488b5a0848' +
    '895c2428488d05991f0a00e8346003004889442420488d0528e60800e8e3540000488b542418488910833d14eb150000750b488b4c242848894808eb' +
    '0e488d7808488b4c2428e8d96a0500488b7c24208407833debea150000750b488987880000006690eb15488d97880000004889fb4889d7e8ac690500' +
    '4889df488b91e800000066904885d2744e488b71304839f27561488b442430c600018b8668020000488b5424388902ff866c020000c7866802000000' +
    '000000904889f84889be60010000904889b0e800000048c781e800000000000000eb034889f8c681b40000000190488981a0000000488b6c24404883' +
    'c448c3488d05b0bf0900bb140000000f1f440000e85baf020090e8b5480500e9b0feffffcccccccccccccccccccccccccccccccc' },
  // runtime.debugCallWrap.func1, Go 1.21.13 (linux/amd64); runtime.newproc1 at 0x43be00
  debugCallWrap21: { entry: 0x406a40, callee: 0x43be00, hex:
    '493b66100f860d010000554889e54883ec40488b5a0848895c2428488b4a10488b72184889742418488b52204889542438488d3d80ca090048897c24' +
    '30488b442430e8795303004889442420488d05ad940800e888550000488b542418488910833df94e1500007507488b4c2428eb0de82b670500488b4c' +
    '242849890b48894808488b5424208402833dd14e1500007413e82a670500498903488bb2880000004989730848898288000000488b7130488bb9d000' +
    '00004839f7754a8b8668020000488b5c24388903c78668020000000000004889d09048899660010000904889b0d000000048c781d000000000000000' +
    'c681b40000000190488981a00000004883c4405dc3488d055c690900bb14000000e88aa1020090e8a44805000f1f4000e9dbfeffffcccccccccccccc' +
    'cccccccccccccccccccccccccccccccccccccccc' },
  // runtime.debugCallWrap.func1, Go 1.23.12 (linux/amd64); runtime.newproc1 at 0x43eee0
  debugCallWrap23: { entry: 0x4072e0, callee: 0x43eee0, hex:
    '493b66100f8611010000554889e54883ec48488b4a104c8b42184c89442420488b5a0848895c2430488b522048895424404c8d0d90900b004c894c24' +
    '38488b44243831ff31f6e8b57b03004889442428488d05690a0a00e844540000488b542420488910833d25b71700007507488b4c2430eb0de8074c06' +
    '00488b4c243049890b48894808488b5424288402833dfdb61700007413e8064c0600498903488bb2900000004989730848898290000000488b713048' +
    '8bb9d80000004839f7754a8b8678020000488b5c24408903c78678020000000000004889d09048899670010000904889b0d800000048c781d8000000' +
    '00000000c681bc0000000190488981a80000004883c4485dc3488d05be200b00bb14000000e826df0500900f1f440000e87b2d0600e9d6feffffcccc' +
    'cccccccccccccccccccccccccccccccccccccccc' },
  // runtime.debugCallWrap.func1, Go 1.26.8 (linux/amd64); runtime.newproc1 at 0x4534c0
  debugCallWrap26: { entry: 0x415d40, callee: 0x4534c0, hex:
    '493b66100f860b010000554889e54883ec40488b4a104c8b42184c89442420488b5a0848895c2430488b52204889542438488d05d8070c0031ff31f6' +
    '0f1f4000e83bd703004889442428488d05af550a00e8ea790000488b542420488910833ddbb61900007507488b4c2430eb0de84d9f0600488b4c2430' +
    '49890b48894808488b5424288402833db3b61900007413488bb288000000e8459f06004989034989730848898288000000488b7130488bb9d0000000' +
    '4839f7754a8b8688020000488b5c24388903c78688020000000000004889d09048899680010000904889b0d000000048c781d000000000000000c681' +
    'b40000000190488981a00000004883c4405dc3488d0594910b00bb14000000e88c3d060090e8a6840600e9e1feffffcc' },
  // runtime.newcoro.func1, Go 1.23.12 (linux/amd64); runtime.newproc1 at 0x43f380
  newcoro123: { entry: 0x406800, callee: 0x43f380, hex:
    '493b66100f86c7000000554889e54883ec40488b4a104c8b42084c894424384d8b08488b521848895424304d8b49304c894c24284c8d15f5390b004c' +
    '89542420488b442420498b18bf01000000be24000000e8298b0300833d521e17000066907507488b4c2438eb14e8725b0600498903488b4c2438488b' +
    '1149895308488901488b4424288b887802000003887c02000085c97436488b4c24308401833d0d1e1700007410e8365b0600498903488b5110498953' +
    '08488941108b90780200008951188b807c02000089411c4883c4405dc3e80a3d0600e925ffffffcccccccccc' },
  // runtime.newcoro.func1, Go 1.26.8 (linux/amd64); runtime.newproc1 at 0x453a40
  newcoro126: { entry: 0x415240, callee: 0x453a40, hex:
    '493b66100f86b8000000554889e54883ec38488b4a104c8b42084c89442430498b18488b52184889542428488b53304889542420488d057db00b00bf' +
    '01000000be26000000e8b6e70300833d0f1e1900007507488b4c2430eb14488b4c2430488b11e899aa060049890349895308488901488b4424208b88' +
    '8802000003888c02000085c97436488b4c24288401833dcc1d1900007410488b5110e861aa060049890349895308488941108b90880200008951188b' +
    '808c02000089411c4883c4385dc3e819900600e934ffffffcccccccccccccccccccccccccccccccccccccccc' },
  // runtime.synctestRun.func2, Go 1.26.8 (linux/amd64); runtime.newproc1 at 0x458ba0
  synctestRun126: { entry: 0x46d800, callee: 0x458ba0, hex:
    '493b66107673554889e54883ec284c8b42104c89442420488b5a18488b4a20488b5208488b0231ff31f6e871b3feff488b5424208402833d03a82800' +
    '007410488b7268e898d401004989034989730848894268498b5630488b92d00000004889c3b9010000004889d0e89204ffffe8cd6401004883c4285d' +
    'c3e842ba01006690e97bffffffcccccccccccccccccccccccccccccccccccccccccccccccccccccc' },
};

function caller(name: keyof typeof CALLERS) {
  const f = CALLERS[name];
  return { callee: f.callee, fn: { name, entry: f.entry, code: Buffer.from(f.hex, 'hex') } };
}

// Read off `go tool objdump` of the same functions: the first kernel-emulated
// instruction after CALL runtime.newproc1 that still sees the new g.
const RESULT_SITES: [keyof typeof CALLERS, number, string, { reg: string; disp?: number }][] = [
  // NOPL before CALL runqput, after MOVQ AX, BX; MOVL $1, CX; MOVQ DX, AX.
  ['newproc19', 0x3b, '0f1f440000', { reg: 'rbx' }],
  ['newproc20', 0x3b, '0f1f440000', { reg: 'rbx' }],
  // No padding: the CALL runqput itself.
  ['newproc21', 0x35, 'e886400000', { reg: 'rbx' }],
  ['newproc22', 0x35, 'e886440000', { reg: 'rbx' }],
  ['newproc23', 0x3b, '0f1f440000', { reg: 'rbx' }],
  ['newproc24', 0x3b, '0f1f440000', { reg: 'rbx' }],
  ['newproc25', 0x3b, '0f1f440000', { reg: 'rbx' }],
  ['newproc26', 0x3b, '0f1f440000', { reg: 'rbx' }],
  // MOVQ AX, 0x20(SP) then AX is reused: the CALL newobject, new g in the stack slot.
  ['debugCallWrap19', 0x58, 'e8e3540000', { reg: 'rsp', disp: 0x20 }],
  ['debugCallWrap21', 0x53, 'e888550000', { reg: 'rsp', disp: 0x20 }],
  ['debugCallWrap23', 0x57, 'e844540000', { reg: 'rsp', disp: 0x28 }],
  ['debugCallWrap26', 0x51, 'e8ea790000', { reg: 'rsp', disp: 0x28 }],
  // CMPL writeBarrier; NOPW / JNE with the g still in AX.
  ['newcoro123', 0x5e, '6690', { reg: 'rax' }],
  ['newcoro126', 0x51, '7507', { reg: 'rax' }],
  ['synctestRun126', 0x3d, '7410', { reg: 'rax' }],
];

for (const [name, offset, bytes, value] of RESULT_SITES) {
  test(`newproc1's result in ${name}: +0x${offset.toString(16)} [${bytes}] ${value.reg}${value.disp === undefined ? '' : `+0x${value.disp.toString(16)}`}`, (t) => {
    const { callee, fn } = caller(name);
    const p = placeResultProbes('runtime.newproc1', callee, [fn]);
    if ('failed' in p) return t.fail(p.failed);
    t.is(p.sites.length, 1);
    t.like(p.sites[0], { offset, bytes, vaddr: fn.entry + offset, func: name });
    t.truthy(p.sites[0]!.emulation, 'kernel-emulated');
    t.deepEqual(p.sites[0]!.value, value);
  });
}

test('both callers in one binary (1.26) get a site; a byte match that is no call is skipped with a warning', (t) => {
  const { callee, fn } = caller('newproc26');
  const debug = caller('debugCallWrap26');
  t.is(debug.callee, callee, 'same binary');
  t.deepEqual(findCallSites(fn.code, fn.entry, callee), [fn.entry + 0x20]);
  const p = placeResultProbes('runtime.newproc1', callee, [fn, debug.fn]);
  if ('failed' in p) return t.fail(p.failed);
  t.deepEqual(p.sites.map((s) => [s.func, s.offset]), [['newproc26', 0x3b], ['debugCallWrap26', 0x51]]);
  t.regex(p.reason, /nop at newproc26\+0x3b \(RBX\), call at debugCallWrap26\+0x51 \(\[RSP\+0x28\]\)/);
  t.deepEqual(p.warnings, []);
  // From another binary: its calls go elsewhere, as if findCallSites had matched bytes inside an instruction.
  const skipped = placeResultProbes('runtime.newproc1', callee, [fn, caller('debugCallWrap23').fn]);
  if ('failed' in skipped) return t.fail(skipped.failed);
  t.is(skipped.sites.length, 1);
  t.deepEqual(skipped.warnings, ['debugCallWrap23: no CALL runtime.newproc1 on an instruction boundary']);
  t.true('failed' in placeResultProbes('runtime.newproc1', callee, []), 'no caller at all');
});

test('findCallSites: CALL rel32 to the callee only, by byte scan', (t) => {
  // 0x1000: CALL 0x1010; NOP; CALL 0x2000; JMP 0x1010 (E9, not a call)
  const c = hex('e8 0b 00 00 00  90  e8 f5 0f 00 00  e9 00 00 00 00');
  t.deepEqual(findCallSites(c, 0x1000, 0x1010), [0x1000]);
  t.deepEqual(findCallSites(c, 0x1000, 0x2000), [0x1006]);
  t.deepEqual(findCallSites(c, 0x1000, 0x3000), []);
});

test('callSitesIn: read in pieces, the same calls as one scan, also across a piece boundary', (t) => {
  // Calls at every offset around a 16-byte piece boundary, and filler bytes that are no call.
  const code = Buffer.alloc(96, 0x90);
  const callee = 0x5000;
  const calls = [0, 11, 12, 13, 14, 15, 16, 30, 43, 47, 91];
  for (const at of calls) {
    code[at] = 0xe8;
    code.writeInt32LE(callee - (0x1000 + at + 5), at + 1);
  }
  const read = (addr: number, len: number): Uint8Array => code.subarray(addr - 0x1000, addr - 0x1000 + len);
  const whole = findCallSites(code, 0x1000, callee);
  t.true(whole.length >= 5, 'overlapping encodings hide some, as in a real byte scan');
  for (const chunk of [1, 5, 16, 17, 64, 1 << 20]) t.deepEqual(callSitesIn(read, 0x1000, code.length, callee, chunk), whole, `pieces of ${chunk}`);
});

test('no site when the result is overwritten, the path merges, or control leaves first', (t) => {
  const at = (c: Buffer) => placeResultProbes('f', 0x9000, [{ name: 'g', entry: 0x1000, code: c }]);
  const callF = (from: number) => { const b = Buffer.alloc(5); b[0] = 0xe8; b.writeInt32LE(0x9000 - (from + 5), 1); return b; };
  // CALL f; MOV EAX, 1; NOP; RET
  const overwritten = at(Buffer.concat([callF(0x1000), hex('b8 01 00 00 00  90  c3')]));
  t.true('failed' in overwritten && /overwritten/.test(overwritten.failed));
  // CALL f; MOV RBX, RAX; RET
  const leaves = at(Buffer.concat([callF(0x1000), hex('48 89 c3  c3')]));
  t.true('failed' in leaves && /control flow leaves/.test(leaves.failed));
  // JMP +3 (to the MOV); CALL f; MOV RBX, RAX; NOP
  const merged = at(Buffer.concat([hex('eb 05'), callF(0x1002), hex('48 89 c3  90  c3')]));
  t.true('failed' in merged && /branch target/.test(merged.failed));
  // CALL f; MOV RBX, RAX; MOV [RSP+8], RBX; XOR EAX, EAX; XOR EBX, EBX; NOP
  const slot = at(Buffer.concat([callF(0x1000), hex('48 89 c3  48 89 5c 24 08  31 c0  31 db  90  c3')]));
  t.false('failed' in slot);
  if (!('failed' in slot)) t.deepEqual(slot.sites[0]!.value, { reg: 'rsp', disp: 8 });
  // ... but SUB SP moves the frame the slot was relative to.
  const moved = at(Buffer.concat([callF(0x1000), hex('48 89 44 24 08  48 83 ec 10  31 c0  90  c3')]));
  t.true('failed' in moved && /overwritten/.test(moved.failed));
});

test('bpf_cookie: site index, register as its struct pt_regs offset, stack slot', (t) => {
  t.is(siteCookie({ index: 3 }), 3n);
  t.is(siteCookie({ index: 3, value: { reg: 'rbx' } }), 3n | (40n << 16n));
  t.is(siteCookie({ index: 5, value: { reg: 'rsp', disp: 0x28 } }), 5n | (152n << 16n) | (1n << 24n) | (0x28n << 32n));
  t.is(siteCookie({ index: 0, value: { reg: 'rsp', disp: -8 } }) >> 32n, 0xfffffff8n);
});

test('PT_REGS_OFFSET matches <asm/ptrace.h> (the BPF programs\' ctx)', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gtop-ptregs-'));
  try {
    const regs = Object.keys(PT_REGS_OFFSET);
    writeFileSync(path.join(dir, 'p.c'), `#include <stddef.h>
#include <stdio.h>
#include <asm/ptrace.h>
int main(void) { ${regs.map((r) => `printf("${r} %zu\\n", offsetof(struct pt_regs, ${r}));`).join(' ')} return 0; }
`);
    execFileSync('cc', ['-o', path.join(dir, 'p'), path.join(dir, 'p.c')]);
    const got = Object.fromEntries(execFileSync(path.join(dir, 'p'), { encoding: 'utf8' }).trim().split('\n').map((l) => { const [r, o] = l.split(' '); return [r!, Number(o)]; }));
    t.deepEqual(got, { ...PT_REGS_OFFSET });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Where iter.Pull's coroutine goroutines end (Go 1.23+): corostart's deferred
// wrapper, which inlines runtime.coroexit (its standalone copy is never
// called), captured like FUNCS above from test/go/coro; `coroexit` is the
// standalone copy's entry in the same binary.
const CORO_EXIT = {
  // runtime.corostart.deferwrap1, Go 1.23.12 (linux/amd64); runtime.coroexit at 0x406a40
  wrap123: { entry: 0x4069c0, coroexit: 0x406a40, hex:
    '493b6610765b554889e54883ec104d8b66204d85e47551488b4a084c89742408833d59b01700007413e8d25a060049890b498b968001000049895308' +
    '488b54240848898a80010000c682c300000001488d051a900b00e8453b06004883c4105dc3e89a3c0600eb984c8d6c24204d392c2475a449892424eb9e' },
  // runtime.corostart.deferwrap1, Go 1.24.13 (linux/amd64); runtime.coroexit at 0x40be80
  wrap124: { entry: 0x40be00, coroexit: 0x40be80, hex:
    '493b6610765b554889e54883ec104d8b66204d85e47551488b4a084c89742408833d99191800007413e8922a060049890b498b968001000049895308' +
    '488b54240848898a80010000c682c300000001488d053a8b0b00e8050b06004883c4105dc3e85a0c0600eb984c8d6c24204d392c2475a449892424eb9e' },
  // runtime.corostart.deferwrap1, Go 1.25.14 (linux/amd64); runtime.coroexit at 0x40ec80
  wrap125: { entry: 0x40ec00, coroexit: 0x40ec80, hex:
    '493b6610765b554889e54883ec104d8b66204d85e47551488b4a084c89742408833d19f31800007413498b9678010000e84b66060049890b49895308' +
    '488b54240848898a78010000c682bb00000001488d050aeb0b00e8c54606004883c4105dc3e81a480600eb984c8d6c24204d392c2475a449892424eb9e' },
  // runtime.corostart.deferwrap1, Go 1.26.8 (linux/amd64); runtime.coroexit at 0x415460
  wrap126: { entry: 0x4153e0, coroexit: 0x415460, hex:
    '493b66107654554889e54883ec10488b4a084c89742408833d32a019000066907413498b9680010000e8d2ad060049890b49895308488b54240848898a' +
    '80010000c682bb00000001488d0519f70b00e82c9206004883c4105dc3e88193060090eb9e' },
  // runtime.coroexit, Go 1.23.12 (linux/amd64)
  coroexit123: { entry: 0x406a40, coroexit: 0x406a40, hex:
    '493b66107652554889e54883ec104c89742408833de6af17000074170f1f4000e85b5a0600498903498b8e8001000049894b08488b4c240848898180' +
    '010000c681c300000001488d05a38f0b00e8ce3a06004883c4105dc348894424080f1f00e89b3c0600488b442408eb94' },
  // runtime.coroexit, Go 1.24.13 (linux/amd64)
  coroexit124: { entry: 0x40be80, coroexit: 0x40be80, hex:
    '493b66107652554889e54883ec104c89742408833d261918000074170f1f4000e81b2a0600498903498b8e8001000049894b08488b4c240848898180' +
    '010000c681c300000001488d05c38a0b00e88e0a06004883c4105dc348894424080f1f00e85b0c0600488b442408eb94' },
  // runtime.coroexit, Go 1.25.14 (linux/amd64)
  coroexit125: { entry: 0x40ec80, coroexit: 0x40ec80, hex:
    '493b6610764e554889e54883ec104c89742408833da6f21800007413498b8e78010000e8d865060049890349894b08488b4c240848898178010000c6' +
    '81bb00000001488d0597ea0b00e8524606004883c4105dc34889442408e842480600488b442408eb9b' },
  // runtime.coroexit, Go 1.26.8 (linux/amd64)
  coroexit126: { entry: 0x415460, coroexit: 0x415460, hex:
    '493b6610764e554889e54883ec104c89742408833db69f1900007413498b8e80010000e858ad060049890349894b08488b4c240848898180010000c6' +
    '81bb00000001488d059ff60b00e8b29106004883c4105dc34889442408e8a2930600488b442408eb9b' },
};

// Read off `go tool objdump`: R14 (the exiting g) is never written before
// the site; 1.23–1.25 wrappers check g._panic (JNE to the wrapper fix-up),
// 1.26 pads the CMPL writeBarrier with a NOPW.
const CORO_EXIT_SITES: [keyof typeof CORO_EXIT, number, string, string][] = [
  ['wrap123', 0x15, '7551', 'jcc'],
  ['wrap124', 0x15, '7551', 'jcc'],
  ['wrap125', 0x15, '7551', 'jcc'],
  ['wrap126', 0x1e, '6690', 'nop'],
  // The standalone coroexit: its JE on writeBarrier.
  ['coroexit123', 0x1a, '7417', 'jcc'],
  ['coroexit124', 0x1a, '7417', 'jcc'],
  ['coroexit125', 0x1a, '7413', 'jcc'],
  ['coroexit126', 0x1a, '7413', 'jcc'],
];

for (const [name, offset, bytes, emulation] of CORO_EXIT_SITES) {
  test(`coroutine exit ${name}: ${emulation} at +0x${offset.toString(16)} after the stack check, R14 intact, frame established`, (t) => {
    const f = CORO_EXIT[name];
    const code = Buffer.from(f.hex, 'hex');
    const p = placeEntryProbe(name, code, f.entry, ['r14']);
    t.is(p.sites.length, 1);
    t.like(p.sites[0], { offset, bytes, emulation, frame: 'established' });
    t.regex(p.reason, /after the stack check/);
  });
}

test('corostart.deferwrap1 inlines coroexit in 1.23–1.26: no CALL to the standalone copy, so the wrapper is what runs', (t) => {
  for (const name of ['wrap123', 'wrap124', 'wrap125', 'wrap126'] as const) {
    const f = CORO_EXIT[name];
    t.deepEqual(findCallSites(Buffer.from(f.hex, 'hex'), f.entry, f.coroexit), [], name);
  }
});
