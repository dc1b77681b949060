/**
 * GPT-2's tokenizer.json, rebuilt offline from js-tiktoken's GPT-2 ranks, and js-tiktoken's
 * own GPT-2 encoder to compare against.
 *
 * tiktoken stores tokens as (bytes, rank); `tokenizers` stores a vocab of byte-level strings
 * plus merges. The merge that made token r is found by running rank-based BPE on r's bytes
 * with only the tokens ranked below r: it stops at exactly two parts, which are the merge.
 * This byte map is written out independently of src/ so that the test checks ours.
 */
import { Tiktoken } from 'js-tiktoken/lite';
import gpt2 from 'js-tiktoken/ranks/gpt2';

function byteToChar(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
  const out: string[] = new Array(256);
  bs.forEach((b, i) => { out[b] = String.fromCharCode(cs[i]); });
  return out;
}

/** rank -> token bytes, parsed from js-tiktoken's compressed format ("! offset b64 b64 ..."). */
export function gpt2Ranks(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const line of gpt2.bpe_ranks.split('\n')) {
    if (!line) continue;
    const [, offset, ...toks] = line.split(' ');
    toks.forEach((t, i) => { out[Number(offset) + i] = new Uint8Array(Buffer.from(t, 'base64')); });
  }
  return out;
}

let cached: Record<string, unknown> | undefined;

export function gpt2TokenizerJSON(): Record<string, unknown> {
  if (cached) return cached;
  const map = byteToChar();
  const ranks = gpt2Ranks();
  const strs = ranks.map((b) => Array.from(b, (x) => map[x]).join(''));
  const rankOf = new Map<string, number>();
  strs.forEach((s, r) => rankOf.set(s, r));
  const vocab: Record<string, number> = Object.create(null);
  strs.forEach((s, r) => { vocab[s] = r; });
  const merges: string[] = [];
  for (let r = 256; r < strs.length; r++) {
    let parts = Array.from(strs[r]);
    for (;;) {
      let best = -1, bestRank = r;
      for (let i = 0; i + 1 < parts.length; i++) {
        const q = rankOf.get(parts[i] + parts[i + 1]);
        if (q !== undefined && q < bestRank) { bestRank = q; best = i; }
      }
      if (best < 0) break;
      parts = [...parts.slice(0, best), parts[best] + parts[best + 1], ...parts.slice(best + 2)];
    }
    if (parts.length !== 2) throw new Error(`gpt2 rank ${r} ${strs[r]} does not split into one merge: ${parts.join(' ')}`);
    merges.push(`${parts[0]} ${parts[1]}`);
  }
  const eot = gpt2.special_tokens['<|endoftext|>'];
  vocab['<|endoftext|>'] = eot;
  cached = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: eot, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, vocab, merges,
    },
  };
  return cached;
}

export function gpt2Tiktoken(): Tiktoken {
  return new Tiktoken(gpt2);
}
