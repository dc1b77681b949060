/**
 * safetensors read/write (https://github.com/huggingface/safetensors):
 *   [u64 LE header length N][N bytes of JSON header][data section]
 * The header maps tensor names to {dtype, shape, data_offsets: [begin, end]} (offsets relative
 * to the data section) plus an optional "__metadata__" string->string map.
 *
 * Files are untrusted (ARCHITECTURE.md §4): every header field is validated before it sizes
 * an allocation or a read, and every failure is a DataError naming the file and the tensor.
 * Little-endian hosts only (x64, arm64), as typed-array views are read in host byte order.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ArgumentError, DataError, LmtError, ShapeError } from '../errors.js';
import { tensor } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';

export type SafetensorsDType =
  | 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/** A tensor as stored in a file: floats widen/narrow to Float32Array, integers to Int32Array. */
export interface StoredTensor {
  shape: number[];
  data: Float32Array | Int32Array;
}
export interface SafetensorsEntry extends StoredTensor {
  /** The dtype in the file (data is already converted). */
  dtype: SafetensorsDType;
}
export interface SafetensorsFile {
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
}

const ITEM_SIZE: Record<SafetensorsDType, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};
/** Larger headers are refused: real ones are kilobytes, and the JSON is parsed in memory. */
export const MAX_HEADER_BYTES = 100_000_000;

/** Where the bytes come from: a file read piecewise (no whole-file copy of a large model) or a Buffer. */
interface Source {
  name: string;
  size: number;
  read(offset: number, into: Uint8Array): void;
  close(): void;
}

function fileSource(file: string): Source {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw new DataError(`cannot open safetensors file: ${(e as Error).message}`, file);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new DataError('not a regular file', file);
    return {
      name: file,
      size: st.size,
      read(offset, into) {
        let done = 0;
        // readSync may return short counts (2 GB per call on Linux); the file may also shrink under us.
        while (done < into.length) {
          const n = fs.readSync(fd, into, done, into.length - done, offset + done);
          if (n === 0) throw new DataError(`file ended at byte ${offset + done}, expected ${offset + into.length}`, file);
          done += n;
        }
      },
      close() { fs.closeSync(fd); },
    };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

function bufferSource(buf: Uint8Array): Source {
  return {
    name: '<buffer>',
    size: buf.length,
    read(offset, into) { into.set(buf.subarray(offset, offset + into.length)); },
    close() {},
  };
}

/** Assignment would treat a key named "__proto__" as the prototype; names come from files. */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface Planned {
  key: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

/** Validates one header entry against the data section size; nothing is allocated yet. */
function planEntry(key: string, v: unknown, dataSize: number, file: string): Planned {
  const bad = (msg: string): DataError => new DataError(`tensor '${key}': ${msg}`, file);
  if (!isPlainObject(v)) throw bad('header entry must be an object {dtype, shape, data_offsets}');
  const dtype = v.dtype;
  if (typeof dtype !== 'string' || !Object.prototype.hasOwnProperty.call(ITEM_SIZE, dtype))
    throw bad(`unknown or unsupported dtype ${JSON.stringify(dtype)?.slice(0, 40)} (supported: ${Object.keys(ITEM_SIZE).join(', ')})`);
  const shape = v.shape;
  if (!Array.isArray(shape)) throw bad('shape must be an array of non-negative integers');
  // Every dim is checked even after a 0 makes the product 0, so a later dim can't be junk.
  let count = 1;
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)
      throw bad(`shape[${i}] must be a non-negative integer, got ${JSON.stringify(d)?.slice(0, 40)}`);
    // Products above the data size can never match the span; stopping here keeps them exact.
    if (count !== 0) count = d === 0 ? 0 : count * d > dataSize ? Infinity : count * d;
  }
  const offs = v.data_offsets;
  if (!Array.isArray(offs) || offs.length !== 2) throw bad('data_offsets must be [begin, end]');
  const [begin, end] = offs as unknown[];
  for (const [name, o] of [['begin', begin], ['end', end]] as const)
    if (typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0)
      throw bad(`data_offsets ${name} must be a non-negative integer, got ${JSON.stringify(o)?.slice(0, 40)}`);
  const b = begin as number, e = end as number;
  if (b > e) throw bad(`data_offsets [${b}, ${e}] has begin after end`);
  if (e > dataSize) throw bad(`data_offsets [${b}, ${e}] run past the data section (${dataSize} bytes)`);
  const itemSize = ITEM_SIZE[dtype as SafetensorsDType];
  if (count * itemSize !== e - b)
    throw bad(`shape [${shape.join(',')}] of ${dtype} needs ${count === Infinity ? 'more than the file holds' : `${count * itemSize} bytes`}, but data_offsets span ${e - b} bytes`);
  return { key, dtype: dtype as SafetensorsDType, shape: shape as number[], begin: b, end: e };
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
let halfTable: Float32Array | null = null;

/** Converts raw little-endian bytes (a fresh, aligned buffer) into the Float32/Int32 data. */
function convert(p: Planned, bytes: Uint8Array, file: string): Float32Array | Int32Array {
  const ab = bytes.buffer, off = bytes.byteOffset, n = bytes.length / ITEM_SIZE[p.dtype];
  switch (p.dtype) {
    case 'F32': return new Float32Array(ab, off, n);
    case 'I32': return new Int32Array(ab, off, n);
    case 'F64': return Float32Array.from(new Float64Array(ab, off, n));
    case 'F16': {
      if (!halfTable) {
        halfTable = new Float32Array(65536);
        for (let i = 0; i < 65536; i++) halfTable[i] = halfToFloat(i);
      }
      const src = new Uint16Array(ab, off, n), out = new Float32Array(n), t = halfTable;
      for (let i = 0; i < n; i++) out[i] = t[src[i]];
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const src = new Uint16Array(ab, off, n), out = new Float32Array(n), bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = src[i] << 16;
      return out;
    }
    case 'I64':
    case 'U64': {
      // Fits int32 iff the high word is the sign extension of the low word (and, unsigned, is 0).
      const w = new Int32Array(ab, off, 2 * n), out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const lo = w[2 * i], hi = w[2 * i + 1];
        if (hi !== lo >> 31 || (p.dtype === 'U64' && hi !== 0))
          throw new DataError(`tensor '${p.key}': ${p.dtype} value at index ${i} does not fit in int32`, file);
        out[i] = lo;
      }
      return out;
    }
    case 'U32': {
      const src = new Int32Array(ab, off, n);
      for (let i = 0; i < n; i++)
        if (src[i] < 0) throw new DataError(`tensor '${p.key}': U32 value at index ${i} does not fit in int32`, file);
      return src;
    }
    case 'I16': return Int32Array.from(new Int16Array(ab, off, n));
    case 'U16': return Int32Array.from(new Uint16Array(ab, off, n));
    case 'I8': return Int32Array.from(new Int8Array(ab, off, n));
    case 'U8': return Int32Array.from(bytes);
    case 'BOOL': {
      for (let i = 0; i < n; i++)
        if (bytes[i] > 1) throw new DataError(`tensor '${p.key}': BOOL byte at index ${i} is ${bytes[i]}, not 0 or 1`, file);
      return Int32Array.from(bytes);
    }
  }
}

/** Reads a safetensors file (or an in-memory copy of one). */
export function readSafetensors(src: string | Uint8Array): SafetensorsFile {
  const source = typeof src === 'string' ? fileSource(src) : bufferSource(src);
  try {
    return readFrom(source);
  } finally {
    source.close();
  }
}

function readFrom(src: Source): SafetensorsFile {
  const file = src.name;
  if (src.size < 8) throw new DataError(`file is ${src.size} bytes, too short for the 8-byte header length`, file);
  const lenBytes = new Uint8Array(8);
  src.read(0, lenBytes);
  // A u64 may exceed 2^53; compare as BigInt before it becomes a Number that sizes anything.
  const headerLen = new DataView(lenBytes.buffer).getBigUint64(0, true);
  if (headerLen >= BigInt(MAX_HEADER_BYTES))
    throw new DataError(`header length ${headerLen} is not below the ${MAX_HEADER_BYTES}-byte limit`, file);
  if (headerLen > BigInt(src.size - 8))
    throw new DataError(`header length ${headerLen} exceeds the ${src.size - 8} bytes after the length field`, file);
  const n = Number(headerLen);
  const headerBytes = new Uint8Array(n);
  src.read(8, headerBytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new DataError('header is not valid UTF-8', file);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    // RangeError (too deeply nested) lands here too.
    throw new DataError(`header is not valid JSON: ${(e as Error).message.slice(0, 200)}`, file);
  }
  if (!isPlainObject(header)) throw new DataError('header must be a JSON object', file);

  const dataStart = 8 + n, dataSize = src.size - dataStart;
  const metadata: Record<string, string> = {};
  const plans: Planned[] = [];
  for (const [key, v] of Object.entries(header)) {
    if (key === '__metadata__') {
      if (!isPlainObject(v)) throw new DataError('__metadata__ must be an object of strings', file);
      for (const [mk, mv] of Object.entries(v)) {
        if (typeof mv !== 'string') throw new DataError(`__metadata__ '${mk}' must be a string, got ${typeof mv}`, file);
        setOwn(metadata, mk, mv);
      }
      continue;
    }
    plans.push(planEntry(key, v, dataSize, file));
  }
  // Overlap check on non-empty ranges: an empty tensor occupies no bytes wherever it points.
  const ranges = plans.filter((p) => p.end > p.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < ranges.length; i++)
    if (ranges[i].begin < ranges[i - 1].end)
      throw new DataError(`tensor '${ranges[i].key}': data_offsets [${ranges[i].begin}, ${ranges[i].end}] overlap tensor '${ranges[i - 1].key}' [${ranges[i - 1].begin}, ${ranges[i - 1].end}]`, file);

  const tensors = new Map<string, SafetensorsEntry>();
  for (const p of plans) {
    const bytes = new Uint8Array(p.end - p.begin);
    src.read(dataStart + p.begin, bytes);
    tensors.set(p.key, { dtype: p.dtype, shape: [...p.shape], data: convert(p, bytes, file) });
  }
  return { tensors, metadata };
}

function checkStored(key: string, t: StoredTensor, what: string): void {
  if (!(t.data instanceof Float32Array || t.data instanceof Int32Array))
    throw new ArgumentError(`${what}: tensor '${key}' data must be a Float32Array or Int32Array`);
  if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isSafeInteger(d) || d < 0))
    throw new ShapeError(`${what}: tensor '${key}' shape must be non-negative integers, got ${JSON.stringify(t.shape)}`);
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (count !== t.data.length)
    throw new ShapeError(`${what}: tensor '${key}' has shape [${t.shape.join(',')}] (${count} elements) but ${t.data.length} values`);
}

/** The file bytes for `tensors` (F32/I32), keys sorted, data 8-byte aligned. */
export function encodeSafetensors(tensors: Record<string, StoredTensor>, metadata?: Record<string, string>): Buffer {
  const what = 'writeSafetensors';
  const keys = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata) {
    for (const [k, v] of Object.entries(metadata))
      if (typeof v !== 'string') throw new ArgumentError(`${what}: metadata '${k}' must be a string, got ${typeof v}`);
    setOwn(header, '__metadata__', { ...metadata });
  }
  let offset = 0;
  for (const key of keys) {
    if (key === '__metadata__' || key === '') throw new ArgumentError(`${what}: '${key}' cannot be a tensor name`);
    const t = tensors[key];
    checkStored(key, t, what);
    const end = offset + t.data.byteLength;
    setOwn(header, key, { dtype: t.data instanceof Float32Array ? 'F32' : 'I32', shape: t.shape, data_offsets: [offset, end] });
    offset = end;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  // Pad with spaces so the data section starts 8-byte aligned (readers may map it as typed arrays).
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const out = Buffer.allocUnsafe(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  let pos = 8 + json.length;
  for (const key of keys) {
    const d = tensors[key].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

const WRITE_HINTS: Record<string, string> = {
  ENOSPC: 'no space left on the device; free some space or write elsewhere',
  EDQUOT: 'the disk quota is exceeded; free some space or write elsewhere',
  EFBIG: 'the file would exceed the file-size limit of this process (`ulimit -f`) or of the filesystem',
  EACCES: 'permission denied; check the permissions of the folder or write elsewhere',
  EPERM: 'operation not permitted; check the permissions of the folder or write elsewhere',
  EROFS: 'the filesystem is read-only; write elsewhere',
  ENOTDIR: 'a component of the path is a file, not a folder',
  EEXIST: 'a file is in the way where a folder is needed',
  EISDIR: 'the path is a folder',
  ENAMETOOLONG: 'the path is too long',
  EMFILE: 'this process has too many open files',
  EIO: 'the device reported an input/output error',
};

/**
 * A clear error for a failed filesystem write: what failed, where, why, and what to do
 * (Node's own message for a failed write(2) names no path). LmtErrors pass through; the
 * errno code stays readable as `errno`, the original error as `cause`.
 */
export function writeError(e: unknown, what: string, target: string): Error {
  if (e instanceof LmtError) return e;
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code !== 'string') return e as Error;
  const why = WRITE_HINTS[err.code] ?? err.message;
  const at = err.path && path.resolve(err.path) !== path.resolve(target) ? ` ${err.path}` : '';
  const out = new LmtError(`cannot write ${what} ${target}: ${why} (${err.code}${err.syscall ? ` in ${err.syscall}${at}` : ''})`, 'LMT_ERR_IO');
  Object.assign(out, { errno: err.code, path: target, cause: e });
  return out;
}

/**
 * Writes `bytes` to `file` atomically: a temp file in the same directory (so rename stays
 * on one filesystem), fsync, rename, fsync of the directory so the rename itself is durable.
 * On failure the temp file is removed, `file` is unchanged, and the error says why.
 */
export function writeFileAtomic(file: string, bytes: Uint8Array | string): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
  } catch (e) {
    throw writeError(e, 'file', file);
  }
  try {
    try {
      fs.writeFileSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw writeError(e, 'file', file);
  }
  fsyncDir(dir);
}

/** Some filesystems refuse fsync on a directory; durability there is best effort. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    /* best effort */
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Writes F32/I32 tensors as a safetensors file, atomically. */
export function writeSafetensors(file: string, tensors: Record<string, StoredTensor>, metadata?: Record<string, string>): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

/** lmtrain Tensors from a read file (they are owned by the current scope, like any new tensor). */
export function tensorsFromSafetensors(tensors: Map<string, StoredTensor> | SafetensorsFile): Map<string, Tensor> {
  const src = tensors instanceof Map ? tensors : tensors.tensors;
  const out = new Map<string, Tensor>();
  for (const [k, t] of src) out.set(k, tensor(t.data, t.shape));
  return out;
}

/** Copies lmtrain Tensors (or already stored data) out of native memory for writing. */
export function safetensorsFromTensors(tensors: Record<string, Tensor | StoredTensor>): Record<string, StoredTensor> {
  const out: Record<string, StoredTensor> = {};
  for (const [k, t] of Object.entries(tensors))
    setOwn(out, k, t instanceof Tensor ? { shape: [...t.shape], data: t.toArray() } : t);
  return out;
}
