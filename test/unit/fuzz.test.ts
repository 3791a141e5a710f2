// Fuzzes the ELF, buildinfo, pclntab, DWARF, globals and layout readers with
// a few thousand mutated real Go binaries: no crash, no hang, a clear error.
// Each worker reports before every case, so a hang names its case.
import { Worker } from 'node:worker_threads';
import test from 'ava';
import { buildFixture } from '../helpers/build.ts';
import { toolchainByMinor } from '../helpers/toolchains.ts';
import type { CaseFailure } from '../fuzz/worker.ts';

const CASES = Number(process.env['GTOP_FUZZ_CASES'] ?? 600);
const HANG_MS = 20_000;

const bases = [
  { minor: 19, stripped: false, pie: false },
  { minor: 22, stripped: true, pie: false },
  { minor: 25, stripped: false, pie: true },
  { minor: 26, stripped: true, pie: true },
];

for (const [i, b] of bases.entries()) {
  const name = `go1.${b.minor} ${b.stripped ? 'stripped' : 'plain'} ${b.pie ? 'pie' : 'exe'}`;
  test(`${CASES} mutated ${name} binaries: readers succeed or say what is wrong`, async (t) => {
    t.timeout(15 * 60_000);
    const path = await buildFixture('parking', toolchainByMinor(b.minor), b);
    // Workers do not inherit tsx's loader: register it, then load the TypeScript worker.
    const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(new URL('../fuzz/worker.ts', import.meta.url).href)}); })`;
    const worker = new Worker(boot, { eval: true, workerData: { path, seed: i + 1, cases: CASES } });
    const result = await new Promise<{ failures: CaseFailure[]; accepted: number; rejected: number }>((resolve, reject) => {
      let current = 'starting';
      let timer = setTimeout(() => hang(), HANG_MS);
      const hang = (): void => {
        void worker.terminate();
        reject(new Error(`no progress for ${HANG_MS / 1000} s on case ${current} (seed ${i + 1})`));
      };
      worker.on('message', (m: { type: string; index?: number; what?: string; failures?: CaseFailure[]; accepted?: number; rejected?: number }) => {
        clearTimeout(timer);
        if (m.type === 'done') resolve(m as never);
        else {
          current = `${m.index}: ${m.what}`;
          timer = setTimeout(() => hang(), HANG_MS);
        }
      });
      worker.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    t.log(`${result.accepted} mutants still readable, ${result.rejected} rejected with a clear error`);
    t.deepEqual(result.failures.map((f) => `case ${f.index} (${f.mutation}): ${f.error.split('\n').slice(0, 4).join(' | ')}`), []);
    t.is(result.accepted + result.rejected, CASES);
  });
}
