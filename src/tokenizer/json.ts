/**
 * Reading Hugging Face `tokenizer.json` (byte-level BPE only) as untrusted input: every field
 * is type-checked, every id range-checked, every size capped, and each error is a DataError
 * naming the file and the JSON path of the problem (`model.merges[12]: ...`).
 */
import { DataError } from '../errors.js';
import { BYTE_TO_CHAR, symbolsToBytes } from './bytes.js';

/** Limits for untrusted files: well above real tokenizers (Gemma has 256k tokens). */
export const MAX_VOCAB = 1 << 20;
export const MAX_ADDED_TOKENS = 1 << 16;
export const MAX_TOKEN_CHARS = 4096;
export const MAX_FILE_BYTES = 512 * 1024 * 1024;

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  singleWord: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
}

/** What a Tokenizer is built from, whether trained or read from a file. */
export interface TokenizerSpec {
  /** model vocab: id -> byte-level token string (holes allowed, as `tokenizers` allows them). */
  vocab: (string | undefined)[];
  /** merges in rank order: [left id, right id, merged id]. */
  merges: [number, number, number][];
  added: AddedToken[];
  /** `tokenizers`' ignore_merges: a word that is itself in the vocab is one token. */
  ignoreMerges: boolean;
  /** Kept as read so that save(load(f)) preserves it; encode's addSpecial has its own rule. */
  postProcessor: unknown;
}

const PRE_TOKENIZER_HINT = 'lmtrain reads byte-level BPE with the GPT-2 split pattern ' +
  '(pre_tokenizer {"type":"ByteLevel","add_prefix_space":false,"use_regex":true})';
const POST_PROCESSORS = new Set(['ByteLevel', 'TemplateProcessing', 'RobertaProcessing', 'BertProcessing', 'Sequence']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);
const key = (k: string) => JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}...` : k);

export function parseTokenizerJSON(input: unknown, source: string): TokenizerSpec {
  const fail: (path: string, msg: string) => never = (path, msg) => { throw new DataError(`${path}: ${msg}`, source); };
  let root = input;
  if (typeof input === 'string') {
    try {
      root = JSON.parse(input);
    } catch (e) {
      throw new DataError(`invalid JSON (${(e as Error).message})`, source);
    }
  }
  if (!isObj(root)) return fail('(top level)', `expected an object, got ${describe(root)}`);
  if (root.version !== undefined && typeof root.version !== 'string') fail('version', `expected a string, got ${describe(root.version)}`);

  const typeOf = (path: string, v: unknown): string | null => {
    if (v === null || v === undefined) return null;
    if (!isObj(v)) return fail(path, `expected an object or null, got ${describe(v)}`);
    if (typeof v.type !== 'string') return fail(`${path}.type`, `expected a string, got ${describe(v.type)}`);
    return v.type;
  };
  const flag = (path: string, v: unknown, dflt: boolean): boolean => {
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') return fail(path, `expected true or false, got ${describe(v)}`);
    return v;
  };

  const norm = typeOf('normalizer', root.normalizer);
  if (norm !== null) fail('normalizer.type', `'${norm}' is not supported; lmtrain reads byte-level BPE without a normalizer`);
  const pre = typeOf('pre_tokenizer', root.pre_tokenizer);
  if (pre !== 'ByteLevel') fail('pre_tokenizer', `${pre === null ? 'missing' : `type '${pre}' is not supported`}; ${PRE_TOKENIZER_HINT}`);
  const preObj = root.pre_tokenizer as Obj;
  if (flag('pre_tokenizer.add_prefix_space', preObj.add_prefix_space, false)) fail('pre_tokenizer.add_prefix_space', `true is not supported; ${PRE_TOKENIZER_HINT}`);
  if (!flag('pre_tokenizer.use_regex', preObj.use_regex, true)) fail('pre_tokenizer.use_regex', `false is not supported; ${PRE_TOKENIZER_HINT}`);
  const dec = typeOf('decoder', root.decoder);
  if (dec !== null && dec !== 'ByteLevel') fail('decoder.type', `'${dec}' is not supported; byte-level BPE needs the ByteLevel decoder`);
  const post = typeOf('post_processor', root.post_processor);
  if (post !== null && !POST_PROCESSORS.has(post)) fail('post_processor.type', `'${post}' is not supported (known: ${[...POST_PROCESSORS].join(', ')})`);

  const model = root.model;
  if (!isObj(model)) return fail('model', `expected an object, got ${describe(model)}`);
  if (model.type !== undefined && model.type !== 'BPE') {
    fail('model.type', `${typeof model.type === 'string' ? `'${model.type}'` : `a ${typeof model.type}`} is not supported; lmtrain reads byte-level BPE models only`);
  }
  if (model.dropout !== undefined && model.dropout !== null && model.dropout !== 0) fail('model.dropout', 'BPE dropout is not supported; expected null');
  for (const f of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    const v = model[f];
    if (v !== undefined && v !== null && v !== '') fail(`model.${f}`, `expected "" or null (byte-level BPE has none), got ${JSON.stringify(v)}`);
  }
  if (flag('model.byte_fallback', model.byte_fallback, false)) fail('model.byte_fallback', 'true is not supported (byte-level BPE never needs it)');
  flag('model.fuse_unk', model.fuse_unk, false);
  if (model.unk_token !== undefined && model.unk_token !== null && typeof model.unk_token !== 'string') {
    fail('model.unk_token', `expected a string or null, got ${describe(model.unk_token)}`);
  }
  const ignoreMerges = flag('model.ignore_merges', model.ignore_merges, false);

  // ---- vocab
  if (!isObj(model.vocab)) return fail('model.vocab', `expected an object {token: id}, got ${describe(model.vocab)}`);
  const entries = Object.entries(model.vocab);
  if (entries.length > MAX_VOCAB) fail('model.vocab', `${entries.length} tokens exceeds the limit of ${MAX_VOCAB}`);
  const vocab: (string | undefined)[] = [];
  const ids = new Map<string, number>();
  for (const [tok, id] of entries) {
    const p = `model.vocab[${key(tok)}]`;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= MAX_VOCAB) {
      fail(p, `expected an integer id in [0, ${MAX_VOCAB}), got ${typeof id === 'number' ? id : describe(id)}`);
    }
    if (tok.length === 0) fail('model.vocab', 'the empty string is not a token');
    if (tok.length > MAX_TOKEN_CHARS) fail(p, `token of ${tok.length} characters exceeds the limit of ${MAX_TOKEN_CHARS}`);
    if (vocab[id] !== undefined) fail(p, `id ${id} is also the id of ${key(vocab[id]!)}`);
    vocab[id] = tok;
    ids.set(tok, id);
  }

  // ---- added tokens
  const addedRaw = root.added_tokens ?? [];
  if (!Array.isArray(addedRaw)) return fail('added_tokens', `expected an array, got ${describe(addedRaw)}`);
  if (addedRaw.length > MAX_ADDED_TOKENS) fail('added_tokens', `${addedRaw.length} entries exceeds the limit of ${MAX_ADDED_TOKENS}`);
  const added: AddedToken[] = [];
  const addedById = new Map<number, string>(), addedByContent = new Map<string, number>();
  addedRaw.forEach((t: unknown, i) => {
    const p = `added_tokens[${i}]`;
    if (!isObj(t)) return fail(p, `expected an object, got ${describe(t)}`);
    const { id, content } = t;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= MAX_VOCAB) {
      fail(`${p}.id`, `expected an integer id in [0, ${MAX_VOCAB}), got ${typeof id === 'number' ? id : describe(id)}`);
    }
    if (typeof content !== 'string' || content.length === 0) fail(`${p}.content`, `expected a non-empty string, got ${typeof content === 'string' ? '""' : describe(content)}`);
    const c = content as string, n = id as number;
    if (c.length > MAX_TOKEN_CHARS) fail(`${p}.content`, `token of ${c.length} characters exceeds the limit of ${MAX_TOKEN_CHARS}`);
    if (addedById.has(n)) fail(`${p}.id`, `id ${n} is also the id of added token ${key(addedById.get(n)!)}`);
    if (addedByContent.has(c)) fail(`${p}.content`, `${key(c)} is added twice (ids ${addedByContent.get(c)} and ${n})`);
    if (vocab[n] !== undefined && vocab[n] !== c) fail(`${p}.id`, `id ${n} is ${key(c)} here but ${key(vocab[n]!)} in model.vocab`);
    if (ids.has(c) && ids.get(c) !== n) fail(`${p}.content`, `${key(c)} has id ${n} here but ${ids.get(c)} in model.vocab`);
    addedById.set(n, c);
    addedByContent.set(c, n);
    added.push({
      id: n, content: c,
      special: flag(`${p}.special`, t.special, false),
      singleWord: flag(`${p}.single_word`, t.single_word, false),
      lstrip: flag(`${p}.lstrip`, t.lstrip, false),
      rstrip: flag(`${p}.rstrip`, t.rstrip, false),
      normalized: flag(`${p}.normalized`, t.normalized, false),
    });
  });

  // Decoding maps every character of a model token back to a byte, so all must be byte-level
  // symbols; added tokens decode to their content and are exempt.
  for (let id = 0; id < vocab.length; id++) {
    const tok = vocab[id];
    if (tok === undefined || addedById.has(id) || symbolsToBytes(tok) !== null) continue;
    const bad = [...tok].find((ch) => symbolsToBytes(ch) === null)!;
    fail(`model.vocab[${key(tok)}]`, `character U+${bad.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} is not a byte-level symbol (is this a byte-level BPE tokenizer?)`);
  }
  for (let b = 0; b < 256; b++) {
    if (!ids.has(BYTE_TO_CHAR[b])) {
      fail('model.vocab', `lacks the symbol ${key(BYTE_TO_CHAR[b])} of byte 0x${b.toString(16).padStart(2, '0')}; byte-level BPE needs all 256 bytes`);
    }
  }

  // ---- merges: "a b" (classic) or ["a", "b"] (tokenizers >= 0.20)
  const mergesRaw = model.merges ?? [];
  if (!Array.isArray(mergesRaw)) return fail('model.merges', `expected an array, got ${describe(mergesRaw)}`);
  if (mergesRaw.length > MAX_VOCAB) fail('model.merges', `${mergesRaw.length} entries exceeds the limit of ${MAX_VOCAB}`);
  const merges: [number, number, number][] = new Array(mergesRaw.length);
  for (let i = 0; i < mergesRaw.length; i++) {
    const m: unknown = mergesRaw[i];
    const p = `model.merges[${i}]`;
    let pair: unknown[];
    if (typeof m === 'string') {
      pair = m.split(' ');
      if (pair.length !== 2) fail(p, `expected "left right" with one space, got ${key(m)}`);
    } else if (Array.isArray(m)) {
      pair = m;
      if (pair.length !== 2) fail(p, `expected two tokens, got ${pair.length}`);
    } else {
      return fail(p, `expected a string "left right" or a pair ["left", "right"], got ${describe(m)}`);
    }
    const [a, b] = pair;
    if (typeof a !== 'string' || typeof b !== 'string') return fail(p, 'expected two strings');
    const ia = ids.get(a), ib = ids.get(b), ic = ids.get(a + b);
    if (ia === undefined) return fail(p, `${key(a)} is not in model.vocab`);
    if (ib === undefined) return fail(p, `${key(b)} is not in model.vocab`);
    if (ic === undefined) return fail(p, `the merged token ${key(a + b)} is not in model.vocab`);
    merges[i] = [ia, ib, ic];
  }
  return { vocab, merges, added, ignoreMerges, postProcessor: root.post_processor ?? null };
}
