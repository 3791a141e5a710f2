// Text helpers shared by the components: fixed-width cells, durations, rates.
// Pure; lines are cut to the terminal width here so Ink never wraps them.

/** Cuts to `width` columns with an ellipsis, or pads; `right` aligns numbers. */
export function cell(s: string, width: number, right = false): string {
  if (width <= 0) return '';
  if (s.length > width) return width === 1 ? '…' : `${s.slice(0, width - 1)}…`;
  return right ? s.padStart(width) : s.padEnd(width);
}

/** Like cell, but keeps the end (file:line) of a long string. */
export function cellEnd(s: string, width: number): string {
  if (width <= 0) return '';
  if (s.length > width) return width === 1 ? '…' : `…${s.slice(s.length - width + 1)}`;
  return s.padEnd(width);
}

export function fit(s: string, width: number): string {
  return s.length > width ? cell(s, width) : s;
}

/** 350ms, 12.3s, 4m05s, 3h02m, 2d03h. */
export function duration(ms: number, precise: boolean): string {
  const s = ms / 1000;
  if (precise && s < 1) return `${Math.round(ms)}ms`;
  if (s < 60) return precise && s < 10 ? `${s.toFixed(1)}s` : `${Math.floor(s)}s`;
  const p = (n: number): string => String(n).padStart(2, '0');
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${p(Math.floor(s % 60))}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${p(m % 60)}m`;
  return `${Math.floor(h / 24)}d${p(h % 24)}h`;
}

/**
 * BLOCKED: exact when a probe timed the park; otherwise approximate, marked
 * with ~ (seen in the same wait at every refresh: it may have run between two).
 */
export function blockedText(ms: number | null, exact: boolean): string {
  if (ms === null) return '';
  return exact ? duration(ms, true) : `~${duration(ms, false)}`;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** A count in at most `width` characters: 12,345, else 123k, else 12M. */
export function countIn(n: number, width: number): string {
  const full = count(n);
  if (full.length <= width) return full;
  const k = `${Math.floor(n / 1000)}k`;
  return k.length <= width ? k : `${Math.floor(n / 1e6)}M`;
}

export function rate(perSec: number | null): string {
  if (perSec === null) return '–';
  return perSec >= 100 ? `${Math.round(perSec)}/s` : `${perSec.toFixed(1)}/s`;
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Cuts a long text into lines of at most `width` columns at spaces (a word longer than that is cut), each after `indent`. */
export function wrap(text: string, width: number, indent: string): string[] {
  const room = Math.max(10, width - indent.length);
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > room) {
      out.push(indent + line);
      line = '';
    }
    line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') out.push(indent + line);
  return out;
}
