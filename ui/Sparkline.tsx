/** @jsxRuntime automatic @jsxImportSource react */
// A one-line sparkline of the last `width` values, scaled between their
// minimum and maximum, over at least a tenth of the maximum so that a count
// wobbling by one does not swing from bottom to top.
import { Text } from 'ink';

const BARS = '▁▂▃▄▅▆▇█';

export function sparkline(values: readonly number[], width: number): string {
  const vs = values.slice(Math.max(0, values.length - width));
  if (vs.length === 0) return '';
  const hi = Math.max(...vs);
  const lo = Math.min(Math.min(...vs), hi - Math.max(1, hi * 0.1));
  return vs.map((v) => BARS[Math.round(((v - lo) / (hi - lo)) * (BARS.length - 1))]).join('');
}

export function Sparkline({ values, width, color }: { values: readonly number[]; width: number; color: boolean }) {
  return <Text color={color ? 'cyan' : undefined}>{sparkline(values, width)}</Text>;
}
