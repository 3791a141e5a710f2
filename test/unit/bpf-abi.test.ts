// The byte layouts TypeScript relies on, checked against the C headers by
// compiling a probe with the system C compiler: bpf/gtop.h (ring-buffer
// records, map values, config) mirrored in src/bpf/events.ts, and libbpf's
// struct bpf_uprobe_opts declared through koffi in src/bpf/libbpf.ts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import koffi from 'koffi';
import { COUNTER, COUNTER_SLOTS, EVENT_KIND, HIST_SLOTS, LAYOUT, MAX_REASONS, MAX_SITES, NO_REASON, STACK_DEPTH } from '../../src/bpf/events.ts';
import { BpfError, libbpf } from '../../src/bpf/libbpf.ts';
import { ProbeSession } from '../../src/bpf/session.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const FIELDS: Record<string, { struct: string; fields: string[] }> = {
  header: { struct: 'gtop_event_header', fields: ['kind', 'site', 'tid', 'ts', 'goid'] },
  park: { struct: 'gtop_park_event', fields: ['lock', 'stack_id', 'reason'] },
  ready: { struct: 'gtop_ready_event', fields: ['waker', 'parked_ns'] },
  create: { struct: 'gtop_create_event', fields: ['parent', 'gopc', 'startpc'] },
  exit: { struct: 'gtop_exit_event', fields: ['lifetime_ns'] },
  makechan: { struct: 'gtop_makechan_event', fields: ['chan', 'caller_pc'] },
  gstate: { struct: 'gtop_gstate', fields: ['since', 'created', 'lock', 'stack_id', 'status', 'reason'] },
  chanStats: {
    struct: 'gtop_chan_stats',
    fields: ['made_ts', 'made_goid', 'made_pc', 'sends', 'recvs', 'parks', 'wakes', 'last_send_ts', 'last_send_goid', 'last_recv_ts', 'last_recv_goid',
      'last_wake_ts', 'last_wake_waker', 'last_wake_woken', 'closed_ts', 'closed_goid'],
  },
  config: {
    struct: 'gtop_config',
    fields: ['off_g_goid', 'off_g_m', 'off_m_curg', 'off_g_gopc', 'off_g_startpc', 'park_stacks', 'emit_mask', 'off_hchan_lock', 'reason_chan_send', 'reason_chan_recv'],
  },
};
const CONSTANTS = [
  'GTOP_EV_PARK', 'GTOP_EV_READY', 'GTOP_EV_CREATE', 'GTOP_EV_EXIT', 'GTOP_EV_MAKECHAN',
  'GTOP_CNT_DROPS', 'GTOP_CNT_READ_ERRORS', 'GTOP_CNT_NO_CURG', 'GTOP_CNT_STACK_ERRORS', 'GTOP_CNT_MAX',
  'GTOP_MAX_SITES', 'GTOP_HIST_SLOTS', 'GTOP_MAX_REASONS', 'GTOP_STACK_DEPTH', 'GTOP_NO_REASON',
];

/** Compiles and runs a C program that prints the layouts as JSON. */
function cLayouts(): Record<string, number> {
  const lines: string[] = [];
  for (const [key, { struct, fields }] of Object.entries(FIELDS)) {
    lines.push(`P("${key}.size", sizeof(struct ${struct}));`);
    for (const f of fields) lines.push(`P("${key}.${f}", offsetof(struct ${struct}, ${f}));`);
  }
  for (const c of CONSTANTS) lines.push(`P("${c}", ${c});`);
  lines.push('P("uprobe_opts.size", sizeof(struct bpf_uprobe_opts));');
  for (const f of ['sz', 'ref_ctr_offset', 'bpf_cookie', 'retprobe', 'func_name']) lines.push(`P("uprobe_opts.${f}", offsetof(struct bpf_uprobe_opts, ${f}));`);
  const src = `#include <stddef.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "gtop.h"
static int first = 1;
#define P(k, v) printf("%s\\"%s\\": %lu", first ? "{" : ", ", k, (unsigned long)(v)), first = 0
int main(void) { ${lines.join('\n')} printf("}\\n"); return 0; }
`;
  const dir = mkdtempSync(path.join(tmpdir(), 'gtop-abi-'));
  try {
    writeFileSync(path.join(dir, 'abi.c'), src);
    const cc = process.env['CC'] ?? 'cc';
    try {
      execFileSync(cc, ['-I', path.join(ROOT, 'bpf'), '-o', path.join(dir, 'abi'), path.join(dir, 'abi.c')], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const e = err as { stderr?: Buffer; message: string };
      throw new Error(`cannot compile the layout probe with ${cc} (a C compiler and libbpf-dev headers are required): ${e.stderr?.toString() || e.message}`);
    }
    return JSON.parse(execFileSync(path.join(dir, 'abi'), { encoding: 'utf8' })) as Record<string, number>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const c = cLayouts();

test('src/bpf/events.ts LAYOUT matches bpf/gtop.h', (t) => {
  for (const [key, { fields }] of Object.entries(FIELDS)) {
    const ts = LAYOUT[key as keyof typeof LAYOUT] as Record<string, number>;
    t.is(ts['size'], c[`${key}.size`], `${key}.size`);
    for (const f of fields) t.is(ts[f], c[`${key}.${f}`], `${key}.${f}`);
    t.is(c[`${key}.size`]! % 8, 0, `${key}: records are 8-byte multiples`);
  }
});

test('event kinds, counter slots and table sizes match bpf/gtop.h', (t) => {
  t.deepEqual(EVENT_KIND, { park: c['GTOP_EV_PARK'], ready: c['GTOP_EV_READY'], create: c['GTOP_EV_CREATE'], exit: c['GTOP_EV_EXIT'], makechan: c['GTOP_EV_MAKECHAN'] });
  t.deepEqual(COUNTER, { drops: c['GTOP_CNT_DROPS'], readErrors: c['GTOP_CNT_READ_ERRORS'], noCurg: c['GTOP_CNT_NO_CURG'], stackErrors: c['GTOP_CNT_STACK_ERRORS'] });
  t.is(COUNTER_SLOTS, c['GTOP_CNT_MAX']);
  t.is(MAX_SITES, c['GTOP_MAX_SITES']);
  t.is(HIST_SLOTS, c['GTOP_HIST_SLOTS']);
  t.is(MAX_REASONS, c['GTOP_MAX_REASONS']);
  t.is(STACK_DEPTH, c['GTOP_STACK_DEPTH']);
  t.is(NO_REASON, c['GTOP_NO_REASON']);
});

test('koffi struct bpf_uprobe_opts matches <bpf/libbpf.h>', (t) => {
  const { UprobeOpts } = libbpf();
  t.is(koffi.sizeof(UprobeOpts), c['uprobe_opts.size']);
  for (const f of ['sz', 'ref_ctr_offset', 'bpf_cookie', 'retprobe', 'func_name']) t.is(koffi.offsetof(UprobeOpts, f), c[`uprobe_opts.${f}`], f);
});

test('the committed bpf/gtop.bpf.o opens with libbpf and has every map and program', (t) => {
  // Opening parses the ELF and BTF only: no privileges needed, nothing reaches the kernel.
  const s = ProbeSession.open();
  t.teardown(() => s.close());
  t.deepEqual(s.sites(), []);
  s.close();
  s.close(); // idempotent
  t.pass();
});

test('open failures name the step and the error, with libbpf log routed to the sink', (t) => {
  const logs: string[] = [];
  const e1 = t.throws(() => ProbeSession.open({ objectPath: '/nonexistent/gtop.bpf.o', log: (_l, m) => logs.push(m) }), { instanceOf: BpfError });
  t.regex(e1!.message, /^failed to open BPF object \/nonexistent\/gtop\.bpf\.o: ENOENT/);
  t.is(e1!.errno, 2);
  const e2 = t.throws(() => ProbeSession.open({ objectPath: fileURLToPath(import.meta.url), log: (_l, m) => logs.push(m) }), { instanceOf: BpfError });
  t.regex(e2!.message, /BPF object format invalid \(libbpf error 4001\)/);
  t.true(logs.some((l) => l.includes('not a proper ELF object')), logs.join('\n'));
});
