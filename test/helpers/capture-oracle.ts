// Regenerates the oracle dumps in test/unit/data/ from the parking fixture:
//   node --import=tsx test/helpers/capture-oracle.ts 21 test/unit/data/parking-go1.21.txt [GODEBUG]
import { writeFileSync } from 'node:fs';
import { buildFixture } from './build.ts';
import { startFixture } from './process.ts';
import { toolchainByMinor } from './toolchains.ts';

const [minor, outFile, godebug] = process.argv.slice(2);
if (minor === undefined || outFile === undefined) {
  console.error('usage: capture-oracle.ts MINOR OUT_FILE [GODEBUG]');
  process.exit(2);
}
const bin = await buildFixture('parking', toolchainByMinor(Number(minor)), { stripped: false, pie: false });
const fx = await startFixture(bin, [], { env: godebug ? { GODEBUG: godebug } : {} });
try {
  const dump = await fx.dump();
  writeFileSync(outFile, dump);
  console.log(`${outFile}: ${dump.length} bytes`);
} finally {
  await fx.stop();
}
