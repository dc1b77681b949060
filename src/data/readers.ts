/**
 * Corpus readers. Everything streams through synchronous generators that read fixed-size
 * chunks with fs.readSync, so a multi-gigabyte JSONL file never sits in JS memory, and the
 * document order is a pure function of the paths (folders are walked in sorted order).
 * Bad contents raise DataError naming the file and the 1-based line.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../errors.js';

const CHUNK_BYTES = 1 << 16;

export interface Line {
  text: string;
  /** 1-based. */
  line: number;
  /** Bytes read from the file so far (chunk granularity); for progress reports. */
  bytesRead: number;
}

function openForRead(file: string): number {
  try {
    return fs.openSync(file, 'r');
  } catch (e) {
    throw new DataError(`cannot open: ${(e as Error).message}`, file);
  }
}

/**
 * Lines of a UTF-8 file without their terminators (\n or \r\n). Lines are split on the byte
 * 0x0A (which never occurs inside a multi-byte UTF-8 sequence) and decoded one by one, so
 * invalid UTF-8 is reported on its exact line instead of passing as U+FFFD: it usually means
 * a binary or wrongly-encoded file slipped into the corpus. A leading BOM is dropped.
 */
export function* readLines(file: string, chunkBytes = CHUNK_BYTES): Generator<Line> {
  const fd = openForRead(file);
  try {
    const buf = new Uint8Array(chunkBytes);
    const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    const decode = (bytes: Uint8Array, line: number): string => {
      let end = bytes.length;
      if (end > 0 && bytes[end - 1] === 13) end--;
      let text: string;
      try {
        text = decoder.decode(bytes.subarray(0, end));
      } catch {
        throw new DataError('invalid UTF-8', file, line);
      }
      return line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    };
    // Pieces of a line that spans chunks, joined once its end is found.
    let parts: Uint8Array[] = [];
    let line = 1;
    let pos = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, chunkBytes, pos);
      if (n === 0) break;
      pos += n;
      const view = buf.subarray(0, n);
      let start = 0;
      for (let nl = view.indexOf(10); nl >= 0; nl = view.indexOf(10, start)) {
        const piece = view.subarray(start, nl);
        const bytes = parts.length > 0 ? concat([...parts, piece]) : piece;
        parts = [];
        yield { text: decode(bytes, line), line, bytesRead: pos };
        line++;
        start = nl + 1;
      }
      if (start < n) parts.push(view.slice(start));
    }
    if (parts.length > 0) yield { text: decode(concat(parts), line), line, bytesRead: pos };
  } finally {
    fs.closeSync(fd);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

// ---- JSONL ---------------------------------------------------------------------------------

/**
 * Checks one parsed record and returns it typed. Throw a DataError without a file (the
 * helpers below do) and readJsonl adds the file and line.
 */
export type RecordValidator<T> = (value: unknown, line: number) => T;

export interface JsonlRecord<T> {
  value: T;
  line: number;
  bytesRead: number;
}

/** Records of a JSONL file with their line numbers; blank lines are skipped. */
export function* readJsonlRecords<T>(file: string, validate: RecordValidator<T>): Generator<JsonlRecord<T>> {
  for (const { text, line, bytesRead } of readLines(file)) {
    if (text.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new DataError(`invalid JSON: ${(e as Error).message}`, file, line);
    }
    let value: T;
    try {
      value = validate(parsed, line);
    } catch (e) {
      if (e instanceof DataError && e.file === undefined) throw new DataError(e.message, file, line);
      throw e;
    }
    yield { value, line, bytesRead };
  }
}

/** Streams the validated records of a JSONL file (one JSON value per line). */
export function* readJsonl<T>(file: string, validate: RecordValidator<T>): Generator<T> {
  for (const r of readJsonlRecords(file, validate)) yield r.value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** For validators: the record as an object, or a DataError saying what it is instead. */
export function expectObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DataError(`expected a JSON object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

export function expectString(record: Record<string, unknown>, key: string): string {
  const v = record[key];
  if (v === undefined) throw new DataError(`missing "${key}"`);
  if (typeof v !== 'string') throw new DataError(`"${key}" must be a string, got ${describe(v)}`);
  return v;
}

export function optionalString(record: Record<string, unknown>, key: string): string | undefined {
  return record[key] === undefined ? undefined : expectString(record, key);
}

// ---- documents -----------------------------------------------------------------------------

export interface TextDocument {
  text: string;
  file: string;
  /** 1-based line where the document starts (1 for whole-file documents). */
  line: number;
}

export interface ReadOptions {
  /** Plain text: 'file' = one document per file (default); 'blank-line' = split on blank lines. */
  split?: 'file' | 'blank-line';
  /** Extensions taken from folders (explicitly named files are always read). */
  extensions?: string[];
  /** JSONL field holding the text (default "text"). */
  field?: string;
  /** Drop documents whose text is empty (default true). */
  skipEmpty?: boolean;
}

export const DEFAULT_EXTENSIONS = ['.txt', '.md', '.jsonl'];

/**
 * The files behind `paths`: files as given, folders walked recursively in sorted order
 * (by code unit, not locale, so the order is the same on every machine). Hidden entries are
 * skipped; symlinked folders are followed once.
 */
export function listSourceFiles(paths: string | readonly string[], opts: Pick<ReadOptions, 'extensions'> = {}): string[] {
  const exts = new Set((opts.extensions ?? DEFAULT_EXTENSIONS).map((e) => e.toLowerCase()));
  const out: string[] = [];
  const seenDirs = new Set<string>();
  const walk = (dir: string): void => {
    const real = fs.realpathSync(dir);
    if (seenDirs.has(real)) return;
    seenDirs.add(real);
    const names = fs.readdirSync(dir).filter((n) => !n.startsWith('.')).sort(byCodeUnit);
    for (const name of names) {
      const p = path.join(dir, name);
      const st = fs.statSync(p, { throwIfNoEntry: false });
      if (!st) continue; // a dangling symlink
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && exts.has(path.extname(name).toLowerCase())) out.push(p);
    }
  };
  for (const p of typeof paths === 'string' ? [paths] : paths) {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (!st) throw new DataError('no such file or folder', p);
    if (st.isDirectory()) walk(p);
    else out.push(p);
  }
  return out;
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What readDocuments yields: a document plus how far into its file the reader is. */
export interface DocumentProgress extends TextDocument {
  bytesRead: number;
}

/** Documents of one plain-text file; line ends are normalised to \n and a final newline dropped. */
export function* readTextDocuments(file: string, opts: ReadOptions = {}): Generator<DocumentProgress> {
  const skipEmpty = opts.skipEmpty ?? true;
  if ((opts.split ?? 'file') === 'file') {
    const lines: string[] = [];
    let bytesRead = 0;
    for (const l of readLines(file)) { lines.push(l.text); bytesRead = l.bytesRead; }
    const text = lines.join('\n');
    if (text !== '' || !skipEmpty) yield { text, file, line: 1, bytesRead };
    return;
  }
  let para: string[] = [];
  let startLine = 0;
  let bytes = 0;
  for (const { text, line, bytesRead } of readLines(file)) {
    bytes = bytesRead;
    if (text.trim() === '') {
      if (para.length > 0) yield { text: para.join('\n'), file, line: startLine, bytesRead };
      para = [];
    } else {
      if (para.length === 0) startLine = line;
      para.push(text);
    }
  }
  if (para.length > 0) yield { text: para.join('\n'), file, line: startLine, bytesRead: bytes };
}

/** Documents of a JSONL file of `{"text": ...}` records (the field name is an option). */
export function* readJsonlDocuments(file: string, opts: ReadOptions = {}): Generator<DocumentProgress> {
  const field = opts.field ?? 'text';
  const skipEmpty = opts.skipEmpty ?? true;
  const validate = (v: unknown) => expectString(expectObject(v), field);
  for (const { value, line, bytesRead } of readJsonlRecords(file, validate)) {
    if (value !== '' || !skipEmpty) yield { text: value, file, line, bytesRead };
  }
}

/** Documents of files and folders, in listSourceFiles order; `.jsonl` files are JSONL. */
export function* readDocuments(paths: string | readonly string[], opts: ReadOptions = {}): Generator<DocumentProgress> {
  for (const file of listSourceFiles(paths, opts)) yield* readFileDocuments(file, opts);
}

export function readFileDocuments(file: string, opts: ReadOptions = {}): Generator<DocumentProgress> {
  return path.extname(file).toLowerCase() === '.jsonl' ? readJsonlDocuments(file, opts) : readTextDocuments(file, opts);
}
