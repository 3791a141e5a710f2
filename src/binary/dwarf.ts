// A DWARF 4/5 `.debug_info` reader that collects only what gtop needs: the
// layouts of named struct types and the link-time addresses of named global
// variables. Every attribute form is decoded or skipped from the abbreviation
// table, so attributes it does not know (Go's own 0x29xx ones) cost nothing.
// The input is untrusted: every read is bounds-checked against its unit and
// every loop consumes input, so garbage ends in BinaryFormatError.
import { BinaryFormatError, GtopError } from '../errors.ts';
import type { ElfFile } from './elf.ts';

export interface FieldLayout { offset: number; typeName: string; size: number | undefined }
export interface StructLayout { name: string; size: number; fields: Map<string, FieldLayout> }
export interface DwarfInfo { structs: Map<string, StructLayout>; variables: Map<string, number>; producer: string | undefined }
export interface DwarfWant { structs: Iterable<string>; variables: Iterable<string> }

/** Decompressed DWARF sections; only info and abbrev are required. */
export interface DwarfSections {
  info: Buffer; abbrev: Buffer;
  str?: Buffer | undefined; lineStr?: Buffer | undefined; strOffsets?: Buffer | undefined; addr?: Buffer | undefined;
}

/** undefined when the binary has no DWARF (stripped). Only the named structs/variables are collected. */
export function readDwarf(elf: ElfFile, want: DwarfWant): DwarfInfo | undefined {
  const info = elf.dwarfSection('info');
  const abbrev = elf.dwarfSection('abbrev');
  if (!info || !abbrev || info.length === 0) return undefined;
  return readDwarfSections({
    info, abbrev, str: elf.dwarfSection('str'), lineStr: elf.dwarfSection('line_str'),
    strOffsets: elf.dwarfSection('str_offsets'), addr: elf.dwarfSection('addr'),
  }, want);
}

export function readDwarfSections(sections: DwarfSections, want: DwarfWant): DwarfInfo {
  try {
    return new Parser(sections, want).run();
  } catch (err) {
    if (err instanceof GtopError) throw err;
    // Last line of defence: a Buffer read past its end is still a format error.
    if (err instanceof RangeError) throw new BinaryFormatError(`DWARF: ${err.message}`, { cause: err });
    throw err;
  }
}

// Tags, attributes, forms and operations used here (DWARF 5 §7).
const TAG_member = 0x0d, TAG_structure_type = 0x13, TAG_pointer_type = 0x0f, TAG_variable = 0x34;
const AT_sibling = 0x01, AT_location = 0x02, AT_name = 0x03, AT_byte_size = 0x0b, AT_producer = 0x25;
const AT_data_member_location = 0x38, AT_declaration = 0x3c, AT_type = 0x49;
const AT_str_offsets_base = 0x72, AT_addr_base = 0x73;
const FORM_implicit_const = 0x21, FORM_indirect = 0x16;
const OP_addr = 0x03, OP_plus_uconst = 0x23, OP_addrx = 0xa1, OP_GNU_addr_index = 0xfb;
const UNIT_TAGS = new Set([0x11, 0x3c, 0x41, 0x4a]); // compile, partial, type, skeleton unit

interface Abbrev { tag: number; children: boolean; names: number[]; forms: number[]; consts: number[] }

interface Unit {
  start: number; end: number; dieStart: number; version: number; addrSize: number; offSize: number;
  abbrevs: Map<number, Abbrev>; strOffsetsBase: number; addrBase: number;
}

/** One attribute value: a number, or a byte range [start, end) of `info` for strings and blocks. */
interface Val { form: number; num: number; start: number; end: number }

interface PendingField { name: string; offset: number; typeRef: number }

class Parser {
  private readonly s: DwarfSections;
  private readonly wantStructs: Set<string>;
  private readonly wantVars: Set<string>;
  private readonly abbrevCache = new Map<number, Map<number, Abbrev>>();
  private readonly units: Unit[] = [];
  private readonly pending = new Map<string, { size: number; fields: PendingField[] }>();
  private readonly variables = new Map<string, number>();
  private producer: string | undefined;
  private readonly r: ByteReader;
  private readonly val: Val = { form: 0, num: 0, start: 0, end: 0 };

  constructor(sections: DwarfSections, want: DwarfWant) {
    this.s = sections;
    this.wantStructs = new Set(want.structs);
    this.wantVars = new Set(want.variables);
    this.r = new ByteReader(sections.info, 0, sections.info.length, 'info');
  }

  run(): DwarfInfo {
    this.readUnitHeaders();
    for (const unit of this.units) {
      if (this.pending.size === this.wantStructs.size && this.variables.size === this.wantVars.size && this.producer !== undefined) break;
      this.walkUnit(unit);
    }
    const structs = new Map<string, StructLayout>();
    for (const [name, p] of this.pending) {
      const fields = new Map<string, FieldLayout>();
      for (const f of p.fields) fields.set(f.name, { offset: f.offset, ...this.typeInfo(f.typeRef) });
      structs.set(name, { name, size: p.size, fields });
    }
    return { structs, variables: this.variables, producer: this.producer };
  }

  private fail(what: string): never {
    throw new BinaryFormatError(`DWARF .debug_info: ${what} at offset ${this.pos}`);
  }

  // ---- unit headers -------------------------------------------------------

  private readUnitHeaders(): void {
    const info = this.s.info;
    let off = 0;
    while (off < info.length) {
      this.pos = off;
      this.end = info.length;
      let len = this.u32();
      let offSize = 4;
      if (len === 0xffffffff) { len = this.u64(); offSize = 8; } else if (len >= 0xfffffff0) this.fail('reserved unit length');
      const end = this.pos + len;
      if (end > info.length) this.fail(`unit of ${len} bytes runs past the end`);
      this.end = end;
      const version = this.u16();
      if (version < 2 || version > 5) this.fail(`unsupported DWARF version ${version}`);
      let addrSize: number, abbrevOff: number;
      if (version >= 5) {
        const unitType = this.u8();
        addrSize = this.u8();
        abbrevOff = this.offset(offSize);
        if (unitType === 2 || unitType === 6) this.skip(8 + offSize); // type signature + type offset
        else if (unitType === 4 || unitType === 5) this.skip(8); // dwo id
      } else {
        abbrevOff = this.offset(offSize);
        addrSize = this.u8();
      }
      if (addrSize !== 4 && addrSize !== 8) this.fail(`address size ${addrSize}`);
      this.units.push({
        start: off, end, dieStart: this.pos, version, addrSize, offSize,
        abbrevs: this.abbrevTable(abbrevOff), strOffsetsBase: 8, addrBase: 8,
      });
      off = end;
    }
  }

  private abbrevTable(off: number): Map<number, Abbrev> {
    const cached = this.abbrevCache.get(off);
    if (cached) return cached;
    const buf = this.s.abbrev;
    const table = new Map<number, Abbrev>();
    const r = new ByteReader(buf, off, buf.length, 'abbrev');
    for (;;) {
      const code = r.uleb();
      if (code === 0) break;
      const a: Abbrev = { tag: r.uleb(), children: r.u8() !== 0, names: [], forms: [], consts: [] };
      for (;;) {
        const name = r.uleb();
        const form = r.uleb();
        if (name === 0 && form === 0) break;
        a.names.push(name);
        a.forms.push(form);
        a.consts.push(form === FORM_implicit_const ? r.sleb() : 0);
      }
      table.set(code, a);
    }
    this.abbrevCache.set(off, table);
    return table;
  }

  // ---- the DIE walk -------------------------------------------------------

  private walkUnit(unit: Unit): void {
    this.pos = unit.dieStart;
    this.end = unit.end;
    let depth = 0;
    let struct: { size: number; fields: PendingField[] } | undefined;
    let structDepth = -1;
    while (this.pos < unit.end) {
      const code = this.uleb();
      if (code === 0) {
        if (depth > 0) depth--;
        if (depth < structDepth) { struct = undefined; structDepth = -1; }
        continue;
      }
      const a = unit.abbrevs.get(code) ?? this.fail(`unknown abbreviation code ${code}`);
      if (UNIT_TAGS.has(a.tag) && depth === 0) this.unitDie(unit, a);
      else if (a.tag === TAG_structure_type) {
        const s = this.structDie(unit, a);
        if (s && a.children) { struct = s; structDepth = depth + 1; }
      } else if (a.tag === TAG_member && struct && depth === structDepth) this.memberDie(unit, a, struct.fields);
      else if (a.tag === TAG_variable) this.variableDie(unit, a);
      else if (a.children) { if (this.skipSubtree(unit, a)) continue; } else this.skipAttrs(unit, a);
      if (a.children) depth++;
    }
  }

  /** Skips the attributes; for a DIE with DW_AT_sibling jumps past its children and returns true. */
  private skipSubtree(unit: Unit, a: Abbrev): boolean {
    let sibling = -1;
    for (let i = 0; i < a.names.length; i++) {
      if (a.names[i] === AT_sibling) sibling = this.ref(unit, this.attr(unit, a, i));
      else this.skipForm(unit, a.forms[i]!);
    }
    if (sibling < 0) return false;
    if (sibling <= this.pos || sibling > unit.end) this.fail(`bad sibling reference ${sibling}`);
    this.pos = sibling;
    return true;
  }

  private skipAttrs(unit: Unit, a: Abbrev): void {
    for (let i = 0; i < a.forms.length; i++) this.skipForm(unit, a.forms[i]!);
  }

  private unitDie(unit: Unit, a: Abbrev): void {
    let producer: Val | undefined;
    for (let i = 0; i < a.names.length; i++) {
      const v = this.attr(unit, a, i);
      if (a.names[i] === AT_str_offsets_base) unit.strOffsetsBase = this.constant(v);
      else if (a.names[i] === AT_addr_base) unit.addrBase = this.constant(v);
      else if (a.names[i] === AT_producer) producer = { ...v };
    }
    // Resolved after the loop: a strx producer needs str_offsets_base, which may come later.
    if (producer && this.producer === undefined) this.producer = this.str(unit, producer);
  }

  private structDie(unit: Unit, a: Abbrev): { size: number; fields: PendingField[] } | undefined {
    let name: string | undefined, size = 0, decl = false;
    for (let i = 0; i < a.names.length; i++) {
      const at = a.names[i];
      if (at !== AT_name && at !== AT_byte_size && at !== AT_declaration) { this.skipForm(unit, a.forms[i]!); continue; }
      const v = this.attr(unit, a, i);
      if (at === AT_name) name = this.str(unit, v);
      else if (at === AT_byte_size) size = this.constant(v);
      else decl = v.num !== 0;
    }
    if (decl || name === undefined || !this.wantStructs.has(name) || this.pending.has(name)) return undefined;
    const s = { size, fields: [] };
    this.pending.set(name, s);
    return s;
  }

  private memberDie(unit: Unit, a: Abbrev, fields: PendingField[]): void {
    let name: string | undefined, offset: number | undefined, typeRef = -1;
    for (let i = 0; i < a.names.length; i++) {
      const at = a.names[i];
      if (at !== AT_name && at !== AT_data_member_location && at !== AT_type) { this.skipForm(unit, a.forms[i]!); continue; }
      const v = this.attr(unit, a, i);
      if (at === AT_name) name = this.str(unit, v);
      else if (at === AT_type) typeRef = this.ref(unit, v);
      else offset = this.memberLocation(v);
    }
    // Blank (_) members are left out: several may share the name.
    if (name !== undefined && name !== '_' && offset !== undefined && !fields.some((f) => f.name === name)) {
      fields.push({ name, offset, typeRef });
    }
  }

  private variableDie(unit: Unit, a: Abbrev): void {
    let name: string | undefined, addr: number | undefined, decl = false;
    for (let i = 0; i < a.names.length; i++) {
      const at = a.names[i];
      if (at !== AT_name && at !== AT_location && at !== AT_declaration) { this.skipForm(unit, a.forms[i]!); continue; }
      const v = this.attr(unit, a, i);
      if (at === AT_name) name = this.str(unit, v);
      else if (at === AT_location) addr = this.staticAddress(unit, v);
      else decl = v.num !== 0;
    }
    if (!decl && name !== undefined && addr !== undefined && this.wantVars.has(name) && !this.variables.has(name)) {
      this.variables.set(name, addr);
    }
  }

  /** A location that is exactly one DW_OP_addr / DW_OP_addrx; anything else is not a static variable. */
  private staticAddress(unit: Unit, v: Val): number | undefined {
    if (v.start < 0 || v.end === v.start) return undefined; // location list, or optimised away
    const r = new ByteReader(this.s.info, v.start, v.end, 'info');
    const op = r.u8();
    let addr: number;
    if (op === OP_addr) addr = unit.addrSize === 8 ? r.u64() : r.u32();
    else if (op === OP_addrx || op === OP_GNU_addr_index) addr = this.indexedAddr(unit, r.uleb());
    else return undefined;
    return r.pos === v.end ? addr : undefined;
  }

  private indexedAddr(unit: Unit, index: number): number {
    const sec = this.s.addr ?? this.fail('DW_OP_addrx without .debug_addr');
    const off = unit.addrBase + index * unit.addrSize;
    const r = new ByteReader(sec, off, sec.length, 'addr');
    return unit.addrSize === 8 ? r.u64() : r.u32();
  }

  private memberLocation(v: Val): number | undefined {
    if (v.start < 0) return v.num;
    const r = new ByteReader(this.s.info, v.start, v.end, 'info');
    if (v.end - v.start < 2 || r.u8() !== OP_plus_uconst) return undefined;
    const n = r.uleb();
    return r.pos === v.end ? n : undefined;
  }

  // ---- type references, resolved after the walk ---------------------------

  private typeInfo(ref: number): { typeName: string; size: number | undefined } {
    let typeName = '';
    let size: number | undefined;
    // Follow typedef/qualifier chains for the size; the name is the first one's.
    for (let hops = 0; ref >= 0 && hops < 8 && size === undefined; hops++) {
      const unit = this.unitAt(ref);
      if (!unit) break;
      this.pos = ref;
      this.end = unit.end;
      const a = unit.abbrevs.get(this.uleb());
      if (!a) break;
      let name: string | undefined, next = -1;
      for (let i = 0; i < a.names.length; i++) {
        const at = a.names[i];
        if (at !== AT_name && at !== AT_byte_size && at !== AT_type) { this.skipForm(unit, a.forms[i]!); continue; }
        const v = this.attr(unit, a, i);
        if (at === AT_name) name = this.str(unit, v);
        else if (at === AT_byte_size) size = this.constant(v);
        else next = this.ref(unit, v);
      }
      if (hops === 0) typeName = name ?? '';
      if (size === undefined && a.tag === TAG_pointer_type) size = unit.addrSize;
      ref = next;
    }
    return { typeName, size };
  }

  private unitAt(off: number): Unit | undefined {
    let lo = 0, hi = this.units.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const u = this.units[mid]!;
      if (off < u.dieStart) hi = mid - 1;
      else if (off >= u.end) lo = mid + 1;
      else return u;
    }
    return undefined;
  }

  // ---- forms --------------------------------------------------------------

  /** Decodes attribute i into this.val (numbers in num; strings/blocks as a byte range, num = -1 start otherwise). */
  private attr(unit: Unit, a: Abbrev, i: number): Val {
    return this.form(unit, a.forms[i]!, a.consts[i]!);
  }

  private form(unit: Unit, form: number, implicitConst: number): Val {
    const v = this.val;
    v.start = -1;
    v.end = -1;
    v.num = 0;
    for (let n = 0; form === FORM_indirect; n++) {
      if (n > 4) this.fail('DW_FORM_indirect loop');
      form = this.uleb();
    }
    v.form = form;
    switch (form) {
      case 0x01: v.num = unit.addrSize === 8 ? this.u64() : this.u32(); break; // addr
      case 0x0b: case 0x0c: case 0x11: case 0x25: case 0x29: v.num = this.u8(); break; // data1 flag ref1 strx1 addrx1
      case 0x05: case 0x12: case 0x26: case 0x2a: v.num = this.u16(); break; // data2 ref2 strx2 addrx2
      case 0x27: case 0x2b: v.num = this.u16() + this.u8() * 0x10000; break; // strx3 addrx3
      case 0x06: case 0x13: case 0x1c: case 0x28: case 0x2c: v.num = this.u32(); break; // data4 ref4 ref_sup4 strx4 addrx4
      case 0x07: case 0x14: case 0x20: case 0x24: v.num = this.u64(); break; // data8 ref8 ref_sig8 ref_sup8
      case 0x0f: case 0x15: case 0x1a: case 0x1b: case 0x22: case 0x23: case 0x1f01: case 0x1f02: v.num = this.uleb(); break;
      case 0x0d: v.num = this.sleb(); break; // sdata
      case 0x0e: case 0x17: case 0x1d: case 0x1f: case 0x1f20: case 0x1f21: v.num = this.offset(unit.offSize); break;
      case 0x10: v.num = this.offset(unit.version <= 2 ? unit.addrSize : unit.offSize); break; // ref_addr
      case 0x19: v.num = 1; break; // flag_present
      case FORM_implicit_const: v.num = implicitConst; break;
      case 0x08: { // string
        const z = this.s.info.indexOf(0, this.pos);
        if (z < 0 || z >= this.end) this.fail('unterminated string');
        v.start = this.pos; v.end = z; this.pos = z + 1; break;
      }
      case 0x0a: this.block(this.u8()); break;
      case 0x03: this.block(this.u16()); break;
      case 0x04: this.block(this.u32()); break;
      case 0x09: case 0x18: this.block(this.uleb()); break; // block exprloc
      case 0x1e: this.skip(16); break; // data16
      default: this.fail(`unknown attribute form 0x${form.toString(16)}`);
    }
    return v;
  }

  private block(len: number): void {
    this.val.start = this.pos;
    this.skip(len);
    this.val.end = this.pos;
  }

  private skipForm(unit: Unit, form: number): void {
    switch (form) {
      case 0x08: { // string: the common case in Go binaries, skipped without decoding
        const z = this.s.info.indexOf(0, this.pos);
        if (z < 0 || z >= this.end) this.fail('unterminated string');
        this.pos = z + 1;
        return;
      }
      case 0x0b: case 0x0c: case 0x11: case 0x25: case 0x29: return this.skip(1);
      case 0x13: case 0x06: return this.skip(4);
      case 0x10: return this.skip(unit.version <= 2 ? unit.addrSize : unit.offSize);
      case 0x19: case FORM_implicit_const: return;
      default: this.form(unit, form, 0);
    }
  }

  private constant(v: Val): number {
    if (v.start >= 0) this.fail(`form 0x${v.form.toString(16)} is not a constant`);
    return v.num;
  }

  private ref(unit: Unit, v: Val): number {
    switch (v.form) {
      case 0x11: case 0x12: case 0x13: case 0x14: case 0x15: return unit.start + v.num;
      case 0x10: return v.num;
      default: return -1; // type-unit signatures and supplementary files are not followed
    }
  }

  private str(unit: Unit, v: Val): string | undefined {
    const s = this.s;
    switch (v.form) {
      case 0x08: return s.info.toString('latin1', v.start, v.end);
      case 0x0e: return s.str ? cstr(s.str, v.num) : undefined;
      case 0x1f: return s.lineStr ? cstr(s.lineStr, v.num) : undefined;
      case 0x1a: case 0x25: case 0x26: case 0x27: case 0x28: case 0x1f02: {
        if (!s.strOffsets || !s.str) return undefined;
        const r = new ByteReader(s.strOffsets, unit.strOffsetsBase + v.num * unit.offSize, s.strOffsets.length, 'str_offsets');
        return cstr(s.str, unit.offSize === 8 ? r.u64() : r.u32());
      }
      default: return undefined;
    }
  }

  // ---- primitive reads on .debug_info, bounded by the current unit --------

  private get pos(): number { return this.r.pos; }
  private set pos(p: number) { this.r.pos = p; }
  private get end(): number { return this.r.end; }
  private set end(e: number) { this.r.end = e; }
  private skip(n: number): void {
    if (n < 0 || this.r.pos + n > this.r.end) this.fail('read past end of unit');
    this.r.pos += n;
  }
  private u8(): number { return this.r.u8(); }
  private u16(): number { return this.r.u16(); }
  private u32(): number { return this.r.u32(); }
  private u64(): number { return this.r.u64(); }
  private offset(size: number): number { return size === 8 ? this.r.u64() : this.r.u32(); }
  private uleb(): number { return this.r.uleb(); }
  private sleb(): number { return this.r.sleb(); }
}

/** Bounded little-endian reads on any DWARF section. */
class ByteReader {
  constructor(readonly buf: Buffer, public pos: number, public end: number, readonly section: string) {
    if (pos < 0 || end > buf.length) this.fail();
  }
  private fail(): never {
    throw new BinaryFormatError(`DWARF .debug_${this.section}: read past end at offset ${this.pos}`);
  }
  u8(): number { if (this.pos >= this.end) this.fail(); return this.buf[this.pos++]!; }
  u16(): number { if (this.pos + 2 > this.end) this.fail(); const v = this.buf.readUInt16LE(this.pos); this.pos += 2; return v; }
  u32(): number { if (this.pos + 4 > this.end) this.fail(); const v = this.buf.readUInt32LE(this.pos); this.pos += 4; return v; }
  u64(): number {
    const lo = this.u32(), hi = this.u32();
    if (hi >= 0x200000) throw new BinaryFormatError(`DWARF .debug_${this.section}: 64-bit value out of range`);
    return hi * 0x100000000 + lo;
  }
  /** LEB128 of at most 10 bytes; bits beyond 2^53 are not meaningful for gtop and lose precision. */
  uleb(): number {
    let result = 0, mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new BinaryFormatError(`DWARF .debug_${this.section}: LEB128 too long at offset ${this.pos}`);
  }
  sleb(): number {
    let result = 0, mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return b & 0x40 ? result - mul : result;
    }
    throw new BinaryFormatError(`DWARF .debug_${this.section}: LEB128 too long at offset ${this.pos}`);
  }
}

function cstr(buf: Buffer, off: number): string {
  const z = off >= 0 && off < buf.length ? buf.indexOf(0, off) : -1;
  if (z < 0) throw new BinaryFormatError(`DWARF string at offset ${off} out of range`);
  return buf.toString('latin1', off, z);
}
