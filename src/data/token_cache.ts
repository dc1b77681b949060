/**
 * Token cache: a corpus tokenized once into `<name>.tokens`, then read by window.
 *
 * Layout (little-endian), a 128-byte header then the tokens:
 *   0  magic 'LMTTOK1\0'         8 bytes
 *   8  version                   u32 (1)
 *  12  header bytes              u32 (128; readers skip what they don't know)
 *  16  bytes per token           u32 (2 = u16 when every id fits, else 4 = u32)
 *  20  vocab size                u32
 *  24  EOS id                    u32 (ends every document)
 *  28  reserved                  u32
 *  32  token count               u64
 *  40  document count            u64
 *  48  key                       32 bytes: sha256 of tokenizer fingerprint + sources + options
 *  80  zero padding to 128
 * The key decides staleness: any change to the tokenizer, the EOS id, the read options or a
 * source file's path, size or mtime rebuilds the cache. It is written to a temporary name and
 * renamed, so an interrupted build never leaves a cache that looks complete.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArgumentError, DataError, IndexError } from '../errors.js';
import { listSourceFiles, readFileDocuments, type ReadOptions } from './readers.js';

/** What the cache needs of a tokenizer (src/tokenizer's BPE satisfies it). */
export interface TextTokenizer {
  encode(text: string): number[];
  readonly vocabSize: number;
}

/** Anything the samplers can read windows from: a TokenCache or tokens in memory. */
export interface TokenSource {
  readonly length: number;
  read(offset: number, n: number): Int32Array;
  /** Writes tokens [offset, offset + n) into out[outOffset ...]. */
  readInto(offset: number, n: number, out: Int32Array, outOffset?: number): void;
}

export const TOKEN_CACHE_MAGIC = 'LMTTOK1\0';
export const TOKEN_CACHE_VERSION = 1;
const HEADER_BYTES = 128;
const KEY_BYTES = 32;
const LITTLE_ENDIAN = os.endianness() === 'LE';

export interface TokenCacheHeader {
  version: number;
  headerBytes: number;
  bytesPerToken: 2 | 4;
  vocabSize: number;
  eosId: number;
  length: number;
  documents: number;
  /** Hex sha256 (see the layout above). */
  key: string;
}

export interface BuildTokenCacheOptions {
  /** Files and folders, as for readDocuments. */
  sources: string | readonly string[];
  /** The cache file (conventionally `<name>.tokens`). */
  out: string;
  tokenizer: TextTokenizer;
  /** Appended after every document. */
  eosId: number;
  read?: ReadOptions;
  /**
   * Identifies the tokenizer for the staleness key, e.g. a hash of tokenizer.json. When
   * absent, the vocab size and the encoding of a fixed probe text stand in for it.
   */
  tokenizerFingerprint?: string;
  /** Rebuild even when the existing cache is fresh. */
  force?: boolean;
  /** Called as source bytes are consumed (at read-chunk granularity) and once at the end. */
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

export interface BuildTokenCacheResult {
  path: string;
  /** False when a fresh cache was already there. */
  rebuilt: boolean;
  header: TokenCacheHeader;
}

// Mixed scripts, digits, whitespace runs and punctuation, so that most tokenizer changes
// change its encoding.
const PROBE = 'The quick brown fox — jumps over 13 lazy dogs!\n\tÜber café 東京 🙂 <|endoftext|> x=a+b; ';

function tokenizerFingerprint(tok: TextTokenizer): string {
  return JSON.stringify({ vocabSize: tok.vocabSize, probe: tok.encode(PROBE) });
}

/** The staleness key a cache built with these options would carry. */
export function tokenCacheKey(opts: BuildTokenCacheOptions): string {
  const files = listSourceFiles(opts.sources, opts.read ?? {}).map((f) => {
    const st = fs.statSync(f);
    return [path.resolve(f), st.size, st.mtimeMs];
  });
  const read = opts.read ?? {};
  const desc = {
    version: TOKEN_CACHE_VERSION,
    tokenizer: opts.tokenizerFingerprint ?? tokenizerFingerprint(opts.tokenizer),
    vocabSize: opts.tokenizer.vocabSize,
    eosId: opts.eosId,
    read: { split: read.split ?? 'file', extensions: read.extensions ?? null, field: read.field ?? 'text', skipEmpty: read.skipEmpty ?? true },
    files,
  };
  return crypto.createHash('sha256').update(JSON.stringify(desc)).digest('hex');
}

/** The header of a cache file, or a DataError saying why it is not a valid one. */
export function readTokenCacheHeader(file: string): TokenCacheHeader {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new DataError(`cannot open token cache: ${(e as Error).message}`, file);
  }
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(HEADER_BYTES);
    const n = fs.readSync(fd, buf, 0, HEADER_BYTES, 0);
    if (n < 80) throw new DataError(`token cache truncated: ${size} bytes is shorter than its header`, file);
    if (buf.toString('latin1', 0, 8) !== TOKEN_CACHE_MAGIC) throw new DataError('not a token cache (bad magic)', file);
    const version = buf.readUInt32LE(8);
    if (version !== TOKEN_CACHE_VERSION) {
      throw new DataError(`token cache version ${version}; this lmtrain reads version ${TOKEN_CACHE_VERSION}`, file);
    }
    const headerBytes = buf.readUInt32LE(12);
    const bytesPerToken = buf.readUInt32LE(16);
    if (bytesPerToken !== 2 && bytesPerToken !== 4) throw new DataError(`bad bytes per token ${bytesPerToken} (expected 2 or 4)`, file);
    const length = buf.readBigUInt64LE(32);
    const documents = buf.readBigUInt64LE(40);
    if (headerBytes < 80 || length > BigInt(Number.MAX_SAFE_INTEGER) || documents > length) {
      throw new DataError(`corrupt header (header ${headerBytes} bytes, ${length} tokens, ${documents} documents)`, file);
    }
    const expected = headerBytes + Number(length) * bytesPerToken;
    if (size !== expected) {
      throw new DataError(`token cache is ${size} bytes; its header promises ${expected} (${length} tokens of ${bytesPerToken} bytes)`, file);
    }
    return {
      version, headerBytes, bytesPerToken, vocabSize: buf.readUInt32LE(20), eosId: buf.readUInt32LE(24),
      length: Number(length), documents: Number(documents), key: buf.toString('hex', 48, 48 + KEY_BYTES),
    };
  } finally {
    fs.closeSync(fd);
  }
}

/** True when `file` is a valid cache carrying `key`. A corrupt file is stale, not an error. */
export function isTokenCacheFresh(file: string, key: string): boolean {
  if (!fs.existsSync(file)) return false;
  try {
    return readTokenCacheHeader(file).key === key;
  } catch (e) {
    if (e instanceof DataError) return false;
    throw e;
  }
}

function encodeHeader(h: Omit<TokenCacheHeader, 'version' | 'headerBytes'>): Buffer {
  const buf = Buffer.alloc(HEADER_BYTES);
  buf.write(TOKEN_CACHE_MAGIC, 0, 'latin1');
  buf.writeUInt32LE(TOKEN_CACHE_VERSION, 8);
  buf.writeUInt32LE(HEADER_BYTES, 12);
  buf.writeUInt32LE(h.bytesPerToken, 16);
  buf.writeUInt32LE(h.vocabSize, 20);
  buf.writeUInt32LE(h.eosId, 24);
  buf.writeBigUInt64LE(BigInt(h.length), 32);
  buf.writeBigUInt64LE(BigInt(h.documents), 40);
  buf.write(h.key, 48, 'hex');
  return buf;
}

/**
 * Tokenizes the sources into `out` unless a fresh cache is already there. Streams: only one
 * document and one write chunk are in memory at a time.
 */
export function buildTokenCache(opts: BuildTokenCacheOptions): BuildTokenCacheResult {
  const { tokenizer, eosId, out } = opts;
  const vocabSize = tokenizer.vocabSize;
  // Ids come back as Int32Array, so they must stay below 2^31.
  if (!Number.isInteger(vocabSize) || vocabSize <= 0 || vocabSize > 0x7fffffff) {
    throw new ArgumentError(`buildTokenCache: tokenizer.vocabSize must be an integer in [1, 2^31), got ${vocabSize}`);
  }
  if (!Number.isInteger(eosId) || eosId < 0 || eosId >= vocabSize) {
    throw new ArgumentError(`buildTokenCache: eosId must be an integer in [0, ${vocabSize}), got ${eosId}`);
  }
  const key = tokenCacheKey(opts);
  if (!opts.force && isTokenCacheFresh(out, key)) return { path: out, rebuilt: false, header: readTokenCacheHeader(out) };

  const files = listSourceFiles(opts.sources, opts.read ?? {});
  const sizes = files.map((f) => fs.statSync(f).size);
  const bytesTotal = sizes.reduce((a, b) => a + b, 0);
  // Ids up to 65535 fit u16, i.e. a vocabulary of up to 65536 entries.
  const bytesPerToken: 2 | 4 = vocabSize <= 65536 ? 2 : 4;
  const chunkTokens = 1 << 16;
  const chunk = bytesPerToken === 2 ? new Uint16Array(chunkTokens) : new Uint32Array(chunkTokens);
  const chunkBytes = new Uint8Array(chunk.buffer);
  const dataView = new DataView(chunk.buffer);

  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const fd = fs.openSync(tmp, 'w');
  let ok = false;
  try {
    let filled = 0;
    let written = HEADER_BYTES;
    let length = 0;
    let documents = 0;
    const flush = (): void => {
      if (!LITTLE_ENDIAN) {
        for (let i = 0; i < filled; i++) {
          if (bytesPerToken === 2) dataView.setUint16(2 * i, chunk[i], true);
          else dataView.setUint32(4 * i, chunk[i], true);
        }
      }
      const bytes = filled * bytesPerToken;
      for (let off = 0; off < bytes;) off += fs.writeSync(fd, chunkBytes, off, bytes - off, written + off);
      written += bytes;
      filled = 0;
    };
    const push = (id: number): void => {
      chunk[filled++] = id;
      length++;
      if (filled === chunkTokens) flush();
    };
    fs.writeSync(fd, Buffer.alloc(HEADER_BYTES), 0, HEADER_BYTES, 0);
    let doneBefore = 0;
    let lastReported = -1;
    const report = (done: number): void => {
      if (opts.onProgress && done !== lastReported) { lastReported = done; opts.onProgress(done, bytesTotal); }
    };
    for (let fi = 0; fi < files.length; fi++) {
      for (const doc of readFileDocuments(files[fi], opts.read ?? {})) {
        const ids = tokenizer.encode(doc.text);
        for (let i = 0; i < ids.length; i++) {
          const id = ids[i];
          if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
            throw new IndexError(`buildTokenCache: the tokenizer returned id ${id} at position ${i} of the document at ` +
              `${doc.file}:${doc.line}; ids must be integers in [0, ${vocabSize})`);
          }
          push(id);
        }
        push(eosId);
        documents++;
        report(doneBefore + Math.min(doc.bytesRead, sizes[fi]));
      }
      doneBefore += sizes[fi];
      report(doneBefore);
    }
    flush();
    const header = { bytesPerToken, vocabSize, eosId, length, documents, key };
    fs.writeSync(fd, encodeHeader(header), 0, HEADER_BYTES, 0);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, out);
    ok = true;
    return { path: out, rebuilt: true, header: { version: TOKEN_CACHE_VERSION, headerBytes: HEADER_BYTES, ...header } };
  } finally {
    if (!ok) {
      try { fs.closeSync(fd); } catch { /* already closed */ }
      fs.rmSync(tmp, { force: true });
    }
  }
}

function checkWindow(what: string, length: number, offset: number, n: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(n) || offset < 0 || n < 0 || offset + n > length) {
    throw new IndexError(`${what}: window [${offset}, ${offset + n}) is outside [0, ${length})`);
  }
}

export interface OpenTokenCacheOptions {
  /** Size of the reusable read buffer in tokens; longer reads go through it in pieces. */
  bufferTokens?: number;
}

/** A token cache opened for reading. Holds a file descriptor: call close(). */
export class TokenCache implements TokenSource {
  readonly path: string;
  readonly header: TokenCacheHeader;
  private fd: number;
  private readonly bytes: Uint8Array;
  private readonly view: Uint16Array | Uint32Array;
  private readonly dv: DataView;

  private constructor(file: string, header: TokenCacheHeader, fd: number, bufferTokens: number) {
    this.path = file;
    this.header = header;
    this.fd = fd;
    const ab = new ArrayBuffer(bufferTokens * header.bytesPerToken);
    this.bytes = new Uint8Array(ab);
    this.view = header.bytesPerToken === 2 ? new Uint16Array(ab) : new Uint32Array(ab);
    this.dv = new DataView(ab);
  }

  static open(file: string, opts: OpenTokenCacheOptions = {}): TokenCache {
    const bufferTokens = opts.bufferTokens ?? 1 << 16;
    if (!Number.isInteger(bufferTokens) || bufferTokens <= 0) {
      throw new ArgumentError(`TokenCache.open: bufferTokens must be a positive integer, got ${bufferTokens}`);
    }
    const header = readTokenCacheHeader(file);
    return new TokenCache(file, header, fs.openSync(file, 'r'), bufferTokens);
  }

  get length(): number { return this.header.length; }
  get vocabSize(): number { return this.header.vocabSize; }
  get eosId(): number { return this.header.eosId; }
  get documents(): number { return this.header.documents; }

  read(offset: number, n: number): Int32Array {
    const out = new Int32Array(n);
    this.readInto(offset, n, out, 0);
    return out;
  }

  readInto(offset: number, n: number, out: Int32Array, outOffset = 0): void {
    if (this.fd < 0) throw new ArgumentError(`TokenCache: ${this.path} is closed`);
    checkWindow('TokenCache.read', this.length, offset, n);
    if (!Number.isInteger(outOffset) || outOffset < 0 || outOffset + n > out.length) {
      throw new IndexError(`TokenCache.readInto: ${n} tokens at outOffset ${outOffset} overflow an output of length ${out.length}`);
    }
    const bpt = this.header.bytesPerToken;
    const cap = this.view.length;
    for (let done = 0; done < n;) {
      const take = Math.min(cap, n - done);
      const want = take * bpt;
      const pos = this.header.headerBytes + (offset + done) * bpt;
      for (let got = 0; got < want;) {
        const r = fs.readSync(this.fd, this.bytes, got, want - got, pos + got);
        if (r === 0) throw new DataError(`token cache ended early at byte ${pos + got}`, this.path);
        got += r;
      }
      if (LITTLE_ENDIAN) {
        for (let i = 0; i < take; i++) out[outOffset + done + i] = this.view[i];
      } else {
        for (let i = 0; i < take; i++) out[outOffset + done + i] = bpt === 2 ? this.dv.getUint16(2 * i, true) : this.dv.getUint32(4 * i, true);
      }
      done += take;
    }
  }

  close(): void {
    if (this.fd >= 0) { fs.closeSync(this.fd); this.fd = -1; }
  }
}

/** Tokens already in memory, behind the same interface (tests, small corpora). */
export class ArrayTokenSource implements TokenSource {
  constructor(readonly tokens: Int32Array) {}
  get length(): number { return this.tokens.length; }
  read(offset: number, n: number): Int32Array {
    checkWindow('ArrayTokenSource.read', this.length, offset, n);
    return this.tokens.slice(offset, offset + n);
  }
  readInto(offset: number, n: number, out: Int32Array, outOffset = 0): void {
    checkWindow('ArrayTokenSource.read', this.length, offset, n);
    if (outOffset < 0 || outOffset + n > out.length) {
      throw new IndexError(`ArrayTokenSource.readInto: ${n} tokens at outOffset ${outOffset} overflow an output of length ${out.length}`);
    }
    out.set(this.tokens.subarray(offset, offset + n), outOffset);
  }
}
