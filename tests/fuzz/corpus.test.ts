// The seed corpora of the fuzz targets live in tests/fuzz/corpus/<target>/. This file checks
// that they are present and that every valid seed still loads; FUZZ_WRITE_CORPUS=1
// regenerates them (valid files from the library itself, nasty ones by hand).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CORPUS_ROOT, loadCorpus } from './common.js';
import { rawSafetensors, rawWithHeaderBytes, f32le, u16le, i64le } from '../io/st_raw.js';
import { encodeSafetensors, readSafetensors } from '../../src/io/safetensors.js';
import { loadCheckpoint } from '../../src/io/checkpoint.js';
import { Tokenizer, trainBPE, defaultSpecialTokens } from '../../src/tokenizer/index.js';
import { Trainer } from '../../src/train/trainer.js';
import { tinyTask } from '../reliability/tiny.js';

const put = (target: string, name: string, bytes: Uint8Array | string) => {
  const f = path.join(CORPUS_ROOT, target, name);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, bytes);
};
const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
export const TOKENIZER_TEXTS = ['the cat sat on the mat', 'hello world, hello there', 'naïve café — 日本語 😀', 'a b c d e f g', '  spaces\tand\nnewlines  '];

function writeCorpus(): void {
  fs.rmSync(CORPUS_ROOT, { recursive: true, force: true });
  // ---- safetensors
  const st = 'safetensors';
  put(st, 'valid_f32_i32.safetensors', encodeSafetensors({ w: { shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) }, ids: { shape: [2], data: Int32Array.of(7, -8) } }, { format: 'pt' }));
  put(st, 'valid_scalar_and_empty.safetensors', encodeSafetensors({ s: { shape: [], data: Float32Array.of(3) }, e: { shape: [0, 4], data: new Float32Array(0) } }));
  const dtypes: [string, Uint8Array][] = [['F64', new Uint8Array(Float64Array.of(1.5, -2).buffer)], ['F16', u16le(0x3c00, 0xfc00)], ['BF16', u16le(0x3f80, 0x7fc0)],
    ['I64', i64le(5n, -6n)], ['U64', i64le(1n, 2n)], ['U32', new Uint8Array(Uint32Array.of(1, 2).buffer)], ['I16', u16le(1, 0xffff)], ['U16', u16le(1, 0xffff)],
    ['I8', Uint8Array.of(1, 255)], ['U8', Uint8Array.of(1, 255)], ['BOOL', Uint8Array.of(0, 1)]];
  {
    const header: Record<string, unknown> = {};
    const parts: Uint8Array[] = [];
    let off = 0;
    for (const [dt, b] of dtypes) { header[`t_${dt}`] = { dtype: dt, shape: [2], data_offsets: [off, off + b.length] }; parts.push(b); off += b.length; }
    put(st, 'valid_all_dtypes.safetensors', rawSafetensors(header, Buffer.concat(parts)));
  }
  put(st, 'valid_empty_header.safetensors', rawSafetensors({}));
  put(st, 'nan_inf_payload.safetensors', rawSafetensors({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, h: { dtype: 'F16', shape: [2], data_offsets: [16, 20] } }, Buffer.concat([f32le(NaN, Infinity, -Infinity, -0), u16le(0x7e00, 0x7c00)])));
  put(st, 'nasty_header_len_u64max.safetensors', rawSafetensors({}, new Uint8Array(0), 2n ** 64n - 1n));
  put(st, 'nasty_header_len_past_end.safetensors', rawSafetensors({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32le(1), 4096n));
  put(st, 'nasty_overlap.safetensors', rawSafetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, f32le(1, 2, 3)));
  put(st, 'nasty_offsets_out_of_range.safetensors', rawSafetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 2 ** 53] } }, f32le(1, 2)));
  put(st, 'nasty_shape_overflow.safetensors', rawSafetensors('{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}}', f32le(1, 2)));
  put(st, 'nasty_dtype_mismatch.safetensors', rawSafetensors({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, i64le(2n ** 40n)));
  put(st, 'nasty_deep_nesting.safetensors', rawSafetensors(`{"a":${deep(5000)}}`));
  put(st, 'nasty_proto_key.safetensors', rawSafetensors('{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"__metadata__":{"__proto__":"x"}}', f32le(1)));
  put(st, 'nasty_invalid_utf8.safetensors', rawWithHeaderBytes(Uint8Array.of(0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d)));
  put(st, 'nasty_truncated.safetensors', encodeSafetensors({ w: { shape: [8], data: new Float32Array(8) } }).subarray(0, 60));

  // ---- tokenizer.json
  const tj = 'tokenizer_json';
  const tok = trainBPE(TOKENIZER_TEXTS, { vocabSize: 290, specialTokens: defaultSpecialTokens(2) });
  put(tj, 'valid_trained.json', tok.toJSONString());
  const pairs = tok.toJSON() as { model: { merges: string[] } };
  pairs.model.merges = pairs.model.merges.map((m) => m.split(' ')) as unknown as string[];
  put(tj, 'valid_merges_as_pairs.json', JSON.stringify(pairs));
  put(tj, 'nasty_deep_nesting.json', `{"model":${deep(20000)}}`);
  const noByte = tok.toJSON() as { model: { vocab: Record<string, number> } };
  delete noByte.model.vocab['Ā'];
  put(tj, 'nasty_missing_byte.json', JSON.stringify(noByte));
  put(tj, 'nasty_proto_token.json', tok.toJSONString().replace('"added_tokens": [', '"added_tokens": [{"id": 5000, "content": "__proto__", "special": true},'));
  put(tj, 'nasty_huge_id.json', tok.toJSONString().replace(/"Ā": \d+/, '"Ā": 18446744073709551615'));
  put(tj, 'nasty_invalid_utf8.json', Buffer.concat([Buffer.from('{"model":{"vocab":{"'), Buffer.from([0xff, 0xfe]), Buffer.from('":0}}}')]));

  // ---- BPE decode: id arrays (the tokenizer is valid_trained.json above)
  const bd = 'bpe_decode';
  put(bd, 'valid_encoded.json', JSON.stringify(TOKENIZER_TEXTS.map((t) => Array.from(tok.encode(t)))));
  put(bd, 'valid_all_ids.json', JSON.stringify([Array.from({ length: tok.vocabSize }, (_, i) => i)]));
  put(bd, 'nasty_ids.json', JSON.stringify([[-1], [tok.vocabSize], [1.5], [2 ** 31], [2 ** 53], [1e308], ['1'], [null], []]));
  put(bd, 'split_utf8.json', JSON.stringify([Array.from(tok.encode('日本語😀')).reverse()]));

  // ---- JSONL
  const jl = 'jsonl';
  put(jl, 'valid.jsonl', '{"text":"hello"}\n{"text":"wörld 😀","meta":{"a":[1,2]}}\n\n{"text":""}\n');
  put(jl, 'valid_crlf_bom_noeol.jsonl', '\ufeff{"text":"a"}\r\n{"text":"b\\nc"}\r\n{"text":"\\ud83d\\ude00"}');
  put(jl, 'valid_long_line.jsonl', `{"text":"${'x'.repeat(70_000)}"}\n{"text":"after"}\n`);
  put(jl, 'nasty_invalid_utf8.jsonl', Buffer.concat([Buffer.from('{"text":"ok"}\n{"text":"'), Buffer.from([0xc0, 0x80]), Buffer.from('"}\n')]));
  put(jl, 'nasty_deep.jsonl', `{"text":"a"}\n{"text":"b","x":${deep(3000)}}\n{"text":"c","y":${"[".repeat(100_000)}\n`);
  put(jl, 'nasty_types.jsonl', '{"text":1}\n[1]\nnull\n"s"\n{"txt":"a"}\n{"text":"\\ud800"}\n{"text":"a"}{"text":"b"}\n');
  put(jl, 'nasty_nul_and_controls.jsonl', '{"text":"a\u0000"}\n\u0000\n{"text":"\\u0000"}\n');

  // ---- checkpoint directories (a real 2-step Trainer save, plus broken variants)
  const ck = 'checkpoint';
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lmt-corpus-'));
  const task = tinyTask();
  const trainer = new Trainer(task, { steps: 2, warmupSteps: 0, progress: false, outDir: path.join(tmp, 'out'), saveEvery: 1, logEvery: 1 });
  trainer.run();
  trainer.dispose();
  task.model.dispose();
  for (const f of ['config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json']) put(ck, `valid/${f}`, fs.readFileSync(path.join(tmp, 'out', f)));
  put(ck, 'valid/tokenizer.json', tok.toJSONString());
  fs.rmSync(tmp, { recursive: true, force: true });
  put(ck, 'nasty_config_array/config.json', '[1,2,3]');
  put(ck, 'nasty_config_array/model.safetensors', rawSafetensors({}));
  put(ck, 'nasty_state_garbage/config.json', fs.readFileSync(path.join(CORPUS_ROOT, ck, 'valid/config.json')));
  put(ck, 'nasty_state_garbage/model.safetensors', fs.readFileSync(path.join(CORPUS_ROOT, ck, 'valid/model.safetensors')));
  put(ck, 'nasty_state_garbage/optimizer.safetensors', fs.readFileSync(path.join(CORPUS_ROOT, ck, 'valid/optimizer.safetensors')));
  put(ck, 'nasty_state_garbage/trainer_state.json', '{"step":-1,"rng":"x","data":null,"optimizerStep":1e999}');
}

describe('fuzz corpora', () => {
  if (process.env.FUZZ_WRITE_CORPUS === '1') it('regenerates the corpora', () => writeCorpus(), 60_000);

  it('are present and their valid seeds load', () => {
    for (const s of loadCorpus('safetensors').filter((f) => f.name.startsWith('valid'))) expect(() => readSafetensors(s.bytes)).not.toThrow();
    for (const s of loadCorpus('tokenizer_json').filter((f) => f.name.startsWith('valid')))
      expect(Tokenizer.fromJSON(new TextDecoder().decode(s.bytes)).vocabSize).toBeGreaterThan(256);
    expect(loadCorpus('bpe_decode').length).toBeGreaterThan(0);
    expect(loadCorpus('jsonl').length).toBeGreaterThan(0);
    expect(loadCheckpoint(path.join(CORPUS_ROOT, 'checkpoint', 'valid')).trainerState).toBeDefined();
  });
});
