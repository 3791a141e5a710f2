// A tiny Go program (four goroutines parked on a channel, READY, then waits
// for a line on stdin) built with any toolchain of the matrix, for the
// readers' and the target's tests. Builds are cached in .cache/tiny by source.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './build.ts';
import { toolchainByMinor } from './toolchains.ts';

export const TINY_SOURCE = `package main

import (
	"bufio"
	"fmt"
	"os"
)

func main() {
	ch := make(chan int)
	for i := 0; i < 4; i++ {
		go func() { <-ch }()
	}
	fmt.Println("READY")
	bufio.NewReader(os.Stdin).ReadString('\\n')
}
`;

/**
 * plain; stripped = `-s -w`; twin = `-w -w`, which keeps .symtab but has the
 * exact layout of the stripped build (the -ldflags string is recorded in the
 * build info, so a plain build's data sections sit elsewhere).
 */
export const TINY_VARIANTS = { plain: '', twin: '-w -w', stripped: '-s -w' } as const;
export type TinyVariant = keyof typeof TINY_VARIANTS;

const ROOT = join(REPO_ROOT, '.cache/tiny', createHash('sha256').update(TINY_SOURCE).digest('hex').slice(0, 12));

/** Path of the tiny program built with Go 1.`minor`. */
export function buildTiny(minor: number, mode: 'exe' | 'pie', variant: TinyVariant): string {
  const out = join(ROOT, `go1.${minor}-${mode}-${variant}`);
  if (existsSync(out)) return out;
  const src = join(ROOT, 'src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'go.mod'), 'module gtoptiny\n\ngo 1.19\n');
  writeFileSync(join(src, 'main.go'), TINY_SOURCE);
  const tc = toolchainByMinor(minor);
  const args = ['build', `-buildmode=${mode}`, '-o', `${out}.tmp.${process.pid}`];
  if (TINY_VARIANTS[variant]) args.push(`-ldflags=${TINY_VARIANTS[variant]}`);
  execFileSync(tc.cmd, [...args, '.'], { cwd: src, env: { ...process.env, GOTOOLCHAIN: 'local', ...tc.env, CGO_ENABLED: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
  execFileSync('mv', [`${out}.tmp.${process.pid}`, out]);
  return out;
}
