// A one-line sparkline of the last `width` values, scaled between their
// minimum and maximum (a flat series is drawn at the bottom).
import { Text } from 'ink';

const BARS = '▁▂▃▄▅▆▇█';

export function sparkline(values: readonly number[], width: number): string {
  const vs = values.slice(Math.max(0, values.length - width));
  if (vs.length === 0) return '';
  const lo = Math.min(...vs);
  const hi = Math.max(...vs);
  return vs.map((v) => BARS[hi === lo ? 0 : Math.round(((v - lo) / (hi - lo)) * (BARS.length - 1))]).join('');
}

export function Sparkline({ values, width, color }: { values: readonly number[]; width: number; color: boolean }) {
  return <Text color={color ? 'cyan' : undefined}>{sparkline(values, width)}</Text>;
}
