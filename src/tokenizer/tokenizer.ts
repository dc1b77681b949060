/**
 * Byte-level BPE tokenizer, compatible with GPT-2 and Hugging Face `tokenizers`.
 *
 * encode: added/special tokens are found first (longest first) and never split; the text
 * between them is split by the GPT-2 pattern, each piece turned into UTF-8 bytes, and the
 * merges applied (pieces are cached: natural text repeats its words constantly).
 * decode: every id has a byte string, so decodeBytes is exact; decode is its UTF-8 text.
 * An added token's lstrip/rstrip/single_word flags are kept in tokenizer.json but not
 * applied: matching is always exact, which keeps decode(encode(s)) === s.
 */
import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { ArgumentError, DataError, IndexError } from '../errors.js';
import { BYTE_TO_CHAR, symbolsToBytes, utf8Into } from './bytes.js';
import { applyMerges, PairTable } from './bpe.js';
import { MAX_FILE_BYTES, parseTokenizerJSON, type AddedToken, type TokenizerSpec } from './json.js';
import { Gpt2Splitter } from './pretokenize.js';
import { ROLE_TOKENS, sentinelToken } from './special.js';

export interface EncodeOptions {
  /** Wrap the ids as the model family expects: [CLS] x [SEP] when both exist, else x <eos>. */
  addSpecial?: boolean;
}
export interface DecodeOptions {
  /** Drop special tokens (added tokens marked special). */
  skipSpecial?: boolean;
}

const CACHE_MAX = 1 << 16;
/** Longer pieces are rare and would make the cache hold a lot of text for little gain. */
const CACHE_MAX_PIECE = 256;
const escapeRegex = (s: string) => s.replace(/[\\^$*+?.()|[\]{}]/g, '\\$&');

export class Tokenizer {
  /** id -> token as `tokenizers`' id_to_token shows it (byte-level string, or an added token's content). */
  private readonly tokens: (string | undefined)[];
  private readonly vocabIds = new Map<string, number>();
  private readonly addedIds = new Map<string, number>();
  private readonly spec: TokenizerSpec;
  private readonly byteIds = new Int32Array(256);
  private readonly table: PairTable;
  private readonly addedRe: RegExp | null;
  private readonly splitter = new Gpt2Splitter();
  private readonly special: Uint8Array;
  /** Bytes of token id i are bytes[offsets[i] .. offsets[i + 1]); present[i] says whether id i exists. */
  private readonly bytes: Uint8Array;
  private readonly offsets: Int32Array;
  private readonly present: Uint8Array;
  private readonly cache = new Map<string, Int32Array>();
  private utf8: Uint8Array = new Uint8Array(1024);
  private syms = new Int32Array(1024);
  private readonly textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
  readonly vocabSize: number;

  /** Use trainBPE, Tokenizer.fromJSON or Tokenizer.load; the spec is trusted here. */
  constructor(spec: TokenizerSpec) {
    this.spec = spec;
    let size = spec.vocab.length;
    for (const t of spec.added) size = Math.max(size, t.id + 1);
    this.vocabSize = size;
    this.tokens = new Array(size);
    spec.vocab.forEach((tok, id) => {
      if (tok === undefined) return;
      this.tokens[id] = tok;
      this.vocabIds.set(tok, id);
    });
    this.special = new Uint8Array(size);
    for (const t of spec.added) {
      this.tokens[t.id] = t.content;
      this.addedIds.set(t.content, t.id);
      if (t.special) this.special[t.id] = 1;
    }
    for (let b = 0; b < 256; b++) this.byteIds[b] = this.vocabIds.get(BYTE_TO_CHAR[b])!;

    this.table = new PairTable(spec.merges.length);
    spec.merges.forEach(([a, b, c], rank) => this.table.set(a, b, rank, c));

    const contents = [...this.addedIds.keys()].sort((x, y) => y.length - x.length || (x < y ? -1 : 1));
    this.addedRe = contents.length > 0 ? new RegExp(contents.map(escapeRegex).join('|'), 'gu') : null;

    const enc = new TextEncoder();
    const parts: Uint8Array[] = new Array(size);
    let total = 0;
    this.present = new Uint8Array(size);
    for (let id = 0; id < size; id++) {
      const tok = this.tokens[id];
      if (tok === undefined) continue;
      const b = this.addedIds.get(tok) === id ? enc.encode(tok) : symbolsToBytes(tok);
      if (b === null) throw new ArgumentError(`Tokenizer: token ${id} ${JSON.stringify(tok)} is not a byte-level string`);
      parts[id] = b;
      this.present[id] = 1;
      total += b.length;
    }
    this.bytes = new Uint8Array(total);
    this.offsets = new Int32Array(size + 1);
    let o = 0;
    for (let id = 0; id < size; id++) {
      this.offsets[id] = o;
      if (parts[id]) { this.bytes.set(parts[id], o); o += parts[id].length; }
    }
    this.offsets[size] = o;
  }

  // ---------------------------------------------------------------- encode

  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new ArgumentError(`encode: text must be a string, got ${typeof text}`);
    const out: number[] = [];
    let suffix = -1;
    if (opts.addSpecial) {
      const cls = this.roleId('cls'), sep = this.roleId('sep'), eos = this.roleId('eos');
      if (cls !== undefined && sep !== undefined) { out.push(cls); suffix = sep; } else if (eos !== undefined) suffix = eos;
    }
    const re = this.addedRe;
    if (re === null) {
      this.encodeOrdinary(text, out);
    } else {
      re.lastIndex = 0;
      let last = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        if (m.index > last) this.encodeOrdinary(text.slice(last, m.index), out);
        out.push(this.addedIds.get(m[0])!);
        last = m.index + m[0].length;
      }
      if (last < text.length) this.encodeOrdinary(last === 0 ? text : text.slice(last), out);
    }
    if (suffix >= 0) out.push(suffix);
    return out;
  }

  encodeBatch(texts: readonly string[], opts: EncodeOptions = {}): number[][] {
    if (!Array.isArray(texts)) throw new ArgumentError(`encodeBatch: texts must be an array of strings, got ${typeof texts}`);
    return texts.map((t) => this.encode(t, opts));
  }

  private encodeOrdinary(text: string, out: number[]): void {
    const splitter = this.splitter, cache = this.cache;
    for (let pos = 0, end = 0; pos < text.length; pos = end) {
      end = splitter.pieceEnd(text, pos);
      const piece = text.slice(pos, end);
      let ids = cache.get(piece);
      if (ids === undefined) {
        ids = this.bpe(piece);
        if (piece.length <= CACHE_MAX_PIECE) {
          if (cache.size >= CACHE_MAX) this.evict();
          cache.set(piece, ids);
        }
      }
      for (let i = 0; i < ids.length; i++) out.push(ids[i]);
    }
  }

  /** Drops the oldest quarter: Maps iterate in insertion order, so this is FIFO, cheap and good enough. */
  private evict(): void {
    let n = CACHE_MAX >> 2;
    for (const k of this.cache.keys()) {
      if (n-- === 0) break;
      this.cache.delete(k);
    }
  }

  private bpe(piece: string): Int32Array {
    const [buf, n] = utf8Into(piece, this.utf8);
    this.utf8 = buf;
    if (this.spec.ignoreMerges) {
      let s = '';
      for (let i = 0; i < n; i++) s += BYTE_TO_CHAR[buf[i]];
      const id = this.vocabIds.get(s);
      if (id !== undefined) return Int32Array.of(id);
    }
    if (this.syms.length < n) this.syms = new Int32Array(n * 2);
    const syms = this.syms;
    for (let i = 0; i < n; i++) syms[i] = this.byteIds[buf[i]];
    const m = applyMerges(this.table, syms, n);
    return syms.slice(0, m);
  }

  // ---------------------------------------------------------------- decode

  /** The exact bytes of the tokens, even where a token boundary splits a UTF-8 character. */
  decodeBytes(ids: ArrayLike<number>, opts: DecodeOptions = {}): Uint8Array {
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.present[id] === 0) {
        throw new IndexError(`decode: ids[${i}] = ${id} is not a token id (vocab size ${this.vocabSize})`);
      }
      if (!(opts.skipSpecial && this.special[id])) total += this.offsets[id + 1] - this.offsets[id];
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (opts.skipSpecial && this.special[id]) continue;
      const s = this.offsets[id], e = this.offsets[id + 1];
      out.set(this.bytes.subarray(s, e), o);
      o += e - s;
    }
    return out;
  }

  /** UTF-8 text of the tokens; a byte sequence that is not valid UTF-8 decodes to U+FFFD. */
  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    return this.textDecoder.decode(this.decodeBytes(ids, opts));
  }

  // ---------------------------------------------------------------- vocabulary

  /** The id of a token: an added token's content, or a model token's byte-level string ('Ġthe'). */
  tokenToId(token: string): number | undefined {
    return this.addedIds.get(token) ?? this.vocabIds.get(token);
  }
  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize ? this.tokens[id] : undefined;
  }
  isSpecial(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize && this.special[id] === 1;
  }
  /** The contents of the special tokens, by id. */
  get specialTokens(): string[] {
    return this.spec.added.filter((t) => t.special).sort((a, b) => a.id - b.id).map((t) => t.content);
  }

  private roleId(role: keyof typeof ROLE_TOKENS): number | undefined {
    for (const t of ROLE_TOKENS[role]) {
      const id = this.addedIds.get(t);
      if (id !== undefined) return id;
    }
    return undefined;
  }
  private requireRole(role: keyof typeof ROLE_TOKENS): number {
    const id = this.roleId(role);
    if (id === undefined) {
      throw new ArgumentError(`tokenizer has no ${role} token (looked for ${ROLE_TOKENS[role].join(', ')}); ` +
        `train one with it, e.g. lmtrain tokenizer train --special ${ROLE_TOKENS[role][0]},...`);
    }
    return id;
  }
  get padId(): number { return this.requireRole('pad'); }
  get maskId(): number { return this.requireRole('mask'); }
  get clsId(): number { return this.requireRole('cls'); }
  get sepId(): number { return this.requireRole('sep'); }
  get eosId(): number { return this.requireRole('eos'); }

  /** T5 sentinel i (`<extra_id_i>`). */
  sentinelId(i: number): number {
    if (!Number.isInteger(i) || i < 0) throw new ArgumentError(`sentinelId: i must be a non-negative integer, got ${i}`);
    const id = this.addedIds.get(sentinelToken(i));
    if (id === undefined) {
      throw new ArgumentError(`sentinelId: tokenizer has no ${sentinelToken(i)} (it has ${this.numSentinels} sentinels)`);
    }
    return id;
  }
  /** How many sentinels <extra_id_0>, <extra_id_1>, ... exist without a gap. */
  get numSentinels(): number {
    let n = 0;
    while (this.addedIds.has(sentinelToken(n))) n++;
    return n;
  }

  // ---------------------------------------------------------------- tokenizer.json

  /** Reads a Hugging Face tokenizer.json (object or text); `source` names it in errors. */
  static fromJSON(json: unknown, source = 'tokenizer.json'): Tokenizer {
    return new Tokenizer(parseTokenizerJSON(json, source));
  }

  static async load(path: string): Promise<Tokenizer> {
    const st = await stat(path);
    if (st.size > MAX_FILE_BYTES) throw new DataError(`file of ${st.size} bytes exceeds the tokenizer.json limit of ${MAX_FILE_BYTES}`, path);
    return Tokenizer.fromJSON(await readFile(path, 'utf8'), path);
  }
  static loadSync(path: string): Tokenizer {
    const st = statSync(path);
    if (st.size > MAX_FILE_BYTES) throw new DataError(`file of ${st.size} bytes exceeds the tokenizer.json limit of ${MAX_FILE_BYTES}`, path);
    return Tokenizer.fromJSON(readFileSync(path, 'utf8'), path);
  }

  toJSON(): Record<string, unknown> {
    // Null-prototype: a token may well be the string "__proto__".
    const vocab: Record<string, number> = Object.create(null);
    this.spec.vocab.forEach((tok, id) => { if (tok !== undefined) vocab[tok] = id; });
    const bl = (prefix: boolean, trim: boolean) => ({ type: 'ByteLevel', add_prefix_space: prefix, trim_offsets: trim, use_regex: true });
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [...this.spec.added].sort((a, b) => a.id - b.id).map((t: AddedToken) => ({
        id: t.id, content: t.content, single_word: t.singleWord, lstrip: t.lstrip, rstrip: t.rstrip,
        normalized: t.normalized, special: t.special,
      })),
      normalizer: null,
      pre_tokenizer: bl(false, true),
      post_processor: this.spec.postProcessor ?? null,
      decoder: bl(true, true),
      model: {
        type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
        fuse_unk: false, byte_fallback: false, ignore_merges: this.spec.ignoreMerges,
        vocab,
        merges: this.spec.merges.map(([a, b]) => `${this.spec.vocab[a]} ${this.spec.vocab[b]}`),
      },
    };
  }

  /** The tokenizer.json text (2-space indent, as `tokenizers` writes it). */
  toJSONString(): string {
    return JSON.stringify(this.toJSON(), null, 2);
  }

  /** Writes tokenizer.json atomically: a temporary file in the same folder, then rename. */
  async save(path: string): Promise<void> {
    const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
    try {
      await writeFile(tmp, this.toJSONString());
      await rename(tmp, path);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  }
  saveSync(path: string): void {
    const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
    try {
      writeFileSync(tmp, this.toJSONString());
      renameSync(tmp, path);
    } catch (e) {
      try { unlinkSync(tmp); } catch { /* it may not exist */ }
      throw e;
    }
  }
}
