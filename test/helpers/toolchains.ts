// The Go versions gtop supports, one toolchain each. Pinned ones come from
// the module cache (GOTOOLCHAIN=go1.NN.P, fetched by scripts/setup.sh); 1.19
// predates GOTOOLCHAIN and is Debian's golang-1.19-go; 1.26 is the system go.

export interface Toolchain {
  /** Go minor version: 19 for go1.19.x. */
  minor: number;
  /** The exact `go version` this toolchain must report (1.26: the system go, checked by minor only). */
  version: string;
  /** The go command to run. */
  cmd: string;
  /** Extra environment selecting the toolchain. */
  env: Record<string, string>;
}

export const TOOLCHAINS: readonly Toolchain[] = [
  { minor: 19, version: 'go1.19.8', cmd: '/usr/lib/go-1.19/bin/go', env: {} },
  { minor: 20, version: 'go1.20.14', cmd: 'go', env: { GOTOOLCHAIN: 'go1.20.14' } },
  { minor: 21, version: 'go1.21.13', cmd: 'go', env: { GOTOOLCHAIN: 'go1.21.13' } },
  { minor: 22, version: 'go1.22.12', cmd: 'go', env: { GOTOOLCHAIN: 'go1.22.12' } },
  { minor: 23, version: 'go1.23.12', cmd: 'go', env: { GOTOOLCHAIN: 'go1.23.12' } },
  { minor: 24, version: 'go1.24.13', cmd: 'go', env: { GOTOOLCHAIN: 'go1.24.13' } },
  { minor: 25, version: 'go1.25.14', cmd: 'go', env: { GOTOOLCHAIN: 'go1.25.14' } },
  { minor: 26, version: 'go1.26.8', cmd: 'go', env: { GOTOOLCHAIN: 'local' } },
];

/** True for the system toolchain, whose patch level may differ from `version`. */
export function isSystemToolchain(tc: Toolchain): boolean {
  return tc.env['GOTOOLCHAIN'] === 'local';
}

/**
 * The toolchains to test: all, or those named by minor in
 * GTOP_GO_VERSIONS (e.g. "19,26") for quick local runs.
 */
export function selectedToolchains(spec = process.env['GTOP_GO_VERSIONS']): Toolchain[] {
  if (spec === undefined || spec.trim() === '') return [...TOOLCHAINS];
  const picked: Toolchain[] = [];
  for (const part of spec.split(',')) {
    const minor = Number(part.trim().replace(/^(go)?1\./, ''));
    const tc = TOOLCHAINS.find((t) => t.minor === minor);
    if (tc === undefined) {
      const known = TOOLCHAINS.map((t) => t.minor).join(',');
      throw new Error(`GTOP_GO_VERSIONS: unknown Go version "${part}" (known: ${known})`);
    }
    if (!picked.includes(tc)) picked.push(tc);
  }
  return picked;
}

export function toolchainByMinor(minor: number): Toolchain {
  const tc = TOOLCHAINS.find((t) => t.minor === minor);
  if (tc === undefined) throw new Error(`no toolchain for go1.${minor}`);
  return tc;
}
