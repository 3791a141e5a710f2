// Lookups in ascending numeric columns (goids, addresses): at 100k
// goroutines these replace Maps and Sets keyed by number.

/** The first index of `v` in the ascending `a`, -1 when absent (a binary search). */
export function indexOfSorted(a: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo < a.length && a[lo] === v ? lo : -1;
}
