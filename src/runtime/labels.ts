// pprof labels from g.labels. Go 1.24+ stores them as a sorted slice of
// {key, value string} (runtime/pprof labelMap → LabelSet.list); older versions
// use a Go map, which gtop does not decode.
import { MemoryReadError } from '../errors.ts';
import type { TargetMemory } from '../target/memory.ts';

const MAX_LABELS = 64;
const MAX_STRING = 4096;
const NO_LABELS: Record<string, string> = Object.freeze({});

export function readLabels(mem: TargetMemory, labelsPtr: number): Record<string, string> {
  if (labelsPtr === 0) return NO_LABELS;
  try {
    const header = mem.cached(labelsPtr, 24);
    const data = Number(header.readBigUInt64LE(0));
    const len = Number(header.readBigUInt64LE(8));
    if (data === 0 || len <= 0 || len > MAX_LABELS) return {};
    const entries = mem.cached(data, len * 32);
    const out: Record<string, string> = {};
    for (let i = 0; i < len; i++) {
      const key = readString(mem, entries, i * 32);
      const value = readString(mem, entries, i * 32 + 16);
      if (key === undefined || value === undefined) return {};
      out[key] = value;
    }
    return out;
  } catch (err) {
    if (err instanceof MemoryReadError) return {};
    throw err;
  }
}

function readString(mem: TargetMemory, buf: Buffer, off: number): string | undefined {
  const ptr = Number(buf.readBigUInt64LE(off));
  const len = Number(buf.readBigUInt64LE(off + 8));
  if (len === 0) return '';
  if (ptr === 0 || len < 0 || len > MAX_STRING) return undefined;
  return mem.cached(ptr, len).toString('utf8');
}
