// Raw koffi bindings to libbpf.so.1 (prototypes from libbpf 1.1's
// <bpf/libbpf.h> and <bpf/bpf.h>) and the few libc calls the ring buffer
// needs. libbpf ≥ 1.0 returns NULL or a negative errno and also sets errno;
// every wrapper turns a failure into a BpfError that names the step.
import { constants } from 'node:os';
import koffi from 'koffi';
import { GtopError } from '../errors.ts';

/** A libbpf/kernel failure; `errno` is positive (EPERM = 1). */
export class BpfError extends GtopError {
  readonly errno: number;
  constructor(step: string, errno: number, detail = '') {
    const perm = errno === constants.errno.EPERM || errno === constants.errno.EACCES;
    const hint = perm ? ' (gtop needs root or CAP_BPF + CAP_PERFMON)' : '';
    super(perm ? 'permission' : 'internal', `failed to ${step}: ${errnoName(errno)}${hint}${detail ? `\n${detail}` : ''}`);
    this.name = 'BpfError';
    this.errno = errno;
  }
}

export function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(constants.errno)) if (value === errno) return name;
  // libbpf's own codes (LIBBPF_ERRNO__FORMAT = 4001, …) only libbpf can name.
  if (errno >= 4000 && lib) {
    const buf = Buffer.alloc(256);
    if ((lib.f.strerror(errno, buf, buf.length) as number) === 0) return `${buf.toString('utf8', 0, buf.indexOf(0))} (libbpf error ${errno})`;
  }
  return `errno ${errno}`;
}

/** Opaque libbpf handles (koffi external pointers). */
export type BpfObject = { readonly __brand: 'bpf_object' };
export type BpfProgram = { readonly __brand: 'bpf_program' };
export type BpfMap = { readonly __brand: 'bpf_map' };
export type BpfLink = { readonly __brand: 'bpf_link' };
export type Pointer = { readonly __brand: 'pointer' };

export type LogLevel = 'warn' | 'info' | 'debug';
export type LogSink = (level: LogLevel, message: string) => void;

let lib: ReturnType<typeof bind> | undefined;

/** The bindings, loaded on first use so importing this module never needs libbpf. */
export function libbpf(): ReturnType<typeof bind> {
  if (!lib) {
    try {
      lib = bind(koffi.load('libbpf.so.1'), koffi.load('libc.so.6'));
    } catch (err) {
      throw new GtopError('internal', `cannot load libbpf.so.1 (install libbpf1): ${(err as Error).message}`, { cause: err });
    }
  }
  return lib;
}

function bind(bpf: koffi.IKoffiLib, libc: koffi.IKoffiLib) {
  for (const name of ['bpf_object', 'bpf_program', 'bpf_map', 'bpf_link']) koffi.opaque(name);
  // <bpf/libbpf.h> struct bpf_uprobe_opts (libbpf 1.1): sz first, trailing `size_t :0`.
  const UprobeOpts = koffi.struct('bpf_uprobe_opts', {
    sz: 'size_t', ref_ctr_offset: 'size_t', bpf_cookie: 'uint64_t', retprobe: 'bool', func_name: 'const char *',
  });
  const PrintFn = koffi.proto('int libbpf_print_fn(int level, void *fmt, void *ap)');
  const f = {
    open_file: bpf.func('bpf_object *bpf_object__open_file(const char *path, void *opts)'),
    load: bpf.func('int bpf_object__load(bpf_object *obj)'),
    close: bpf.func('void bpf_object__close(bpf_object *obj)'),
    find_program: bpf.func('bpf_program *bpf_object__find_program_by_name(bpf_object *obj, const char *name)'),
    find_map: bpf.func('bpf_map *bpf_object__find_map_by_name(bpf_object *obj, const char *name)'),
    next_map: bpf.func('bpf_map *bpf_object__next_map(bpf_object *obj, bpf_map *map)'),
    map_name: bpf.func('const char *bpf_map__name(bpf_map *map)'),
    map_fd: bpf.func('int bpf_map__fd(bpf_map *map)'),
    map_value_size: bpf.func('uint32_t bpf_map__value_size(bpf_map *map)'),
    map_max_entries: bpf.func('uint32_t bpf_map__max_entries(bpf_map *map)'),
    map_set_max_entries: bpf.func('int bpf_map__set_max_entries(bpf_map *map, uint32_t max_entries)'),
    map_set_initial_value: bpf.func('int bpf_map__set_initial_value(bpf_map *map, const void *data, size_t size)'),
    prog_set_autoload: bpf.func('int bpf_program__set_autoload(bpf_program *prog, bool autoload)'),
    attach_uprobe: bpf.func('bpf_link *bpf_program__attach_uprobe_opts(bpf_program *prog, int pid, const char *binary_path, size_t func_offset, const bpf_uprobe_opts *opts)'),
    link_destroy: bpf.func('int bpf_link__destroy(bpf_link *link)'),
    lookup_elem: bpf.func('int bpf_map_lookup_elem(int fd, const void *key, void *value)'),
    lookup_batch: bpf.func('int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, _Inout_ uint32_t *count, void *opts)'),
    num_cpus: bpf.func('int libbpf_num_possible_cpus(void)'),
    strerror: bpf.func('int libbpf_strerror(int err, char *buf, size_t size)'),
    set_print: bpf.func('void *libbpf_set_print(libbpf_print_fn *fn)'),
    vsnprintf: libc.func('int vsnprintf(char *buf, size_t size, void *fmt, void *ap)'),
    mmap: libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)'),
    munmap: libc.func('int munmap(void *addr, size_t length)'),
    sysconf: libc.func('long sysconf(int name)'),
  };
  return { f, UprobeOpts, PrintFn };
}

let sink: LogSink = () => {};
let printHook: koffi.IKoffiRegisteredCallback | undefined;
const recent: string[] = [];
let logged = 0;
const RECENT_LINES = 200;
const LEVELS: LogLevel[] = ['warn', 'info', 'debug'];

/**
 * Routes libbpf's messages (verifier log included) to `fn` instead of
 * stderr. The last lines are also kept for error messages (recentLog()).
 */
export function setLogSink(fn: LogSink): void {
  sink = fn;
  installPrint();
}

/** A position in libbpf's log, to collect what one step printed. */
export function logMark(): number {
  return logged;
}

/** libbpf's warnings since `mark` (at most the last `maxLines`), for error messages. */
export function logSince(mark: number, maxLines = 40): string {
  const n = Math.min(logged - mark, recent.length, maxLines);
  return n > 0 ? recent.slice(-n).join('\n') : '';
}

function installPrint(): void {
  if (printHook) return;
  const { f, PrintFn } = libbpf();
  const buf = Buffer.alloc(4096);
  printHook = koffi.register((level: number, fmt: Pointer, ap: Pointer): number => {
    // va_list decays to a pointer in the x86-64 SysV ABI, so vsnprintf can format it here.
    const n = f.vsnprintf(buf, buf.length, fmt, ap) as number;
    const text = buf.toString('utf8', 0, Math.max(0, Math.min(n, buf.length - 1))).trimEnd();
    const lvl = LEVELS[level] ?? 'debug';
    if (lvl !== 'debug') {
      recent.push(text);
      logged++;
      if (recent.length > RECENT_LINES) recent.splice(0, recent.length - RECENT_LINES);
    }
    sink(lvl, text);
    return 0;
  }, koffi.pointer(PrintFn));
  f.set_print(printHook);
}

/** Checks a pointer result; NULL means failure with errno set. `mark` adds libbpf's log since then. */
export function checkPtr<T>(p: T | null, step: string, mark?: number): T {
  if (p === null) throw new BpfError(step, koffi.errno() || constants.errno.EINVAL, mark === undefined ? '' : logSince(mark));
  return p;
}

/** Checks an int result: libbpf returns a negative errno. */
export function checkInt(ret: number, step: string, mark?: number): number {
  if (ret < 0) throw new BpfError(step, -ret, mark === undefined ? '' : logSince(mark));
  return ret;
}

export function pageSize(): number {
  const _SC_PAGESIZE = 30;
  return Number(libbpf().f.sysconf(_SC_PAGESIZE));
}
