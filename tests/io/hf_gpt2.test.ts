import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError, tensor, tidy } from '../../src/index.js';
import { importGPT2, loadCheckpoint, readSafetensors, writeSafetensors } from '../../src/io/index.js';
import { runImport } from '../../src/cli/import.js';
import { writeHfGpt2Fixture } from '../helpers/hf_gpt2_fixture.js';
import { hfGpt2Logits, lmtrainGptLogits } from '../helpers/gpt2_reference.js';
import { maxRelErr } from '../helpers/reference.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lmt-hf-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string): string => path.join(tmpRoot, `${name}${n++}`);

const IDS = [3, 17, 0, 49, 5, 5, 22, 31, 48, 1, 12];

/** Every lmtrain GPT parameter with its shape, as documented in src/models/config.ts. */
function expectedShapes(c: { vocab_size: number; n_positions: number; n_layer: number; n_embd: number }): Record<string, number[]> {
  const C = c.n_embd;
  const s: Record<string, number[]> = { 'wte.weight': [c.vocab_size, C], 'wpe.weight': [c.n_positions, C], 'ln_f.weight': [C], 'ln_f.bias': [C] };
  for (let i = 0; i < c.n_layer; i++) {
    const b = `blocks.${i}.`;
    Object.assign(s, {
      [b + 'ln1.weight']: [C], [b + 'ln1.bias']: [C], [b + 'attn.qkv.weight']: [3 * C, C], [b + 'attn.qkv.bias']: [3 * C],
      [b + 'attn.proj.weight']: [C, C], [b + 'attn.proj.bias']: [C], [b + 'ln2.weight']: [C], [b + 'ln2.bias']: [C],
      [b + 'mlp.fc.weight']: [4 * C, C], [b + 'mlp.fc.bias']: [4 * C], [b + 'mlp.proj.weight']: [C, 4 * C], [b + 'mlp.proj.bias']: [C],
    });
  }
  return s;
}

describe('importGPT2', () => {
  for (const variant of [
    { name: 'GPT2LMHeadModel layout (transformer. prefix, buffers, lm_head)', opts: {} },
    { name: 'GPT2Model layout (no prefix, no buffers, n_ctx only)', opts: { prefix: '', buffers: false, lmHead: false, useNCtx: true } },
    { name: 'a wider model (3 layers, 4 heads, n_embd 24)', opts: { n_layer: 3, n_head: 4, n_embd: 24, vocab_size: 61, n_positions: 16 } },
  ]) {
    it(`writes lmtrain-layout weights whose forward matches HF's (${variant.name})`, () => {
      const from = fresh('hf'), out = fresh('out');
      const fx = writeHfGpt2Fixture(from, variant.opts);
      const r = importGPT2(from, out);
      const ckpt = loadCheckpoint(out);
      const cfg = ckpt.config as Record<string, unknown>;
      expect(cfg).toEqual({ model_type: 'gpt', ...fx.config, dropout: 0 });
      expect(r.config).toEqual(cfg);
      expect(Object.keys(cfg)[0]).toBe('model_type');

      const shapes = expectedShapes(fx.config);
      expect([...ckpt.weights.keys()].sort()).toEqual(Object.keys(shapes).sort());
      for (const [k, s] of Object.entries(shapes)) {
        expect(ckpt.weights.get(k)!.shape, k).toEqual(s);
        expect(ckpt.weights.get(k)!.dtype, k).toBe('F32');
      }
      expect(r.numParams).toBe(Object.values(shapes).reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0));

      const ids = IDS.filter((t) => t < fx.config.vocab_size).slice(0, fx.config.n_positions);
      const ref = hfGpt2Logits(fx.weights, fx.config, ids, fx.prefix);
      const got = lmtrainGptLogits(ckpt.weights, cfg as unknown as typeof fx.config, ids);
      const err = maxRelErr(got, ref);
      console.log(`import ${variant.name}: lmtrain-layout vs HF-layout float64 max_rel_err ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-9);
      // The check has teeth: without the transpose the logits are far off.
      const untransposed = new Map(ckpt.weights);
      const q = untransposed.get('blocks.0.attn.proj.weight')!;
      const C = fx.config.n_embd;
      const qt = new Float32Array(C * C);
      for (let i = 0; i < C; i++) for (let j = 0; j < C; j++) qt[i * C + j] = q.data[j * C + i];
      untransposed.set('blocks.0.attn.proj.weight', { ...q, data: qt });
      expect(maxRelErr(lmtrainGptLogits(untransposed, fx.config, ids), ref)).toBeGreaterThan(1e-3);
    });
  }

  it('copies tokenizer.json and marks the safetensors metadata', () => {
    const from = fresh('hf'), out = fresh('out');
    const tok = { version: '1.0', model: { type: 'BPE', vocab: { a: 0 }, merges: [] } };
    writeHfGpt2Fixture(from, { tokenizer: tok });
    expect(importGPT2(from, out).tokenizer).toBe(true);
    expect(loadCheckpoint(out).tokenizerJson).toEqual(tok);
    expect(readSafetensors(path.join(out, 'model.safetensors')).metadata).toEqual({ format: 'lmtrain', source: 'hf-gpt2' });
  });

  /** Rewrites the fixture's model.safetensors after `edit`, then expects importGPT2 to fail with `msg`. */
  function expectImportError(edit: (w: Map<string, { shape: number[]; data: Float32Array | Int32Array }>) => void, msg: RegExp) {
    const from = fresh('hf');
    writeHfGpt2Fixture(from);
    const file = path.join(from, 'model.safetensors');
    const w = readSafetensors(file).tensors;
    edit(w);
    writeSafetensors(file, Object.fromEntries(w));
    const f = () => importGPT2(from, fresh('out'));
    expect(f).toThrow(DataError);
    expect(f).toThrow(msg);
  }

  it('names missing and misshaped tensors with the expected shape', () => {
    expectImportError((w) => w.delete('transformer.h.1.mlp.c_fc.bias'), /missing tensor 'transformer\.h\.1\.mlp\.c_fc\.bias' \(expected shape \[64\]\)/);
    // Already (out, in): the Conv1D layout is (in, out) = [16,48].
    expectImportError((w) => { const t = w.get('transformer.h.0.attn.c_attn.weight')!; t.shape = [48, 16]; },
      /'transformer\.h\.0\.attn\.c_attn\.weight' has shape \[48,16\], expected \[16,48\]/);
    expectImportError((w) => { const t = w.get('transformer.wpe.weight')!; w.set('transformer.wpe.weight', { shape: [16, 16], data: t.data.slice(0, 256) }); },
      /'transformer\.wpe\.weight' has shape \[16,16\], expected \[32,16\]/);
    expectImportError((w) => w.set('transformer.ln_f.bias', { shape: [16], data: new Int32Array(16) }), /integer dtype/);
    expectImportError((w) => { w.get('lm_head.weight')!.data[5] += 1; }, /lm_head\.weight' differs from wte/);
    expectImportError((w) => w.set('score.weight', { shape: [2, 16], data: new Float32Array(32) }), /unexpected tensors.*'score\.weight'/);
    expectImportError((w) => w.set('transformer.h.2.ln_1.weight', { shape: [16], data: new Float32Array(16) }), /unexpected tensors.*h\.2\.ln_1/);
  });

  it('rejects bad or unsupported configs and missing files, naming the file', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ n_embd: undefined }, /missing n_embd/],
      [{ n_layer: 0 }, /n_layer must be a positive integer/],
      [{ n_head: 3 }, /not divisible by n_head 3/],
      [{ vocab_size: '50' }, /vocab_size must be a positive integer/],
      [{ n_positions: undefined, n_ctx: undefined }, /missing n_positions or n_ctx/],
      [{ activation_function: 'relu' }, /activation_function "relu" is not supported/],
      [{ n_inner: 32 }, /n_inner 32/],
      [{ model_type: 'llama' }, /model_type/],
      [{ scale_attn_by_inverse_layer_idx: true }, /scale_attn_by_inverse_layer_idx/],
      [{ layer_norm_epsilon: -1 }, /layer_norm_epsilon/],
    ];
    for (const [patch, msg] of cases) {
      const from = fresh('hf');
      writeHfGpt2Fixture(from);
      const cfgFile = path.join(from, 'config.json');
      fs.writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfgFile, 'utf8')), ...patch }));
      const f = () => importGPT2(from, fresh('out'));
      expect(f).toThrow(DataError);
      expect(f).toThrow(msg);
      expect(f).toThrow('config.json');
    }
    const from = fresh('hf');
    writeHfGpt2Fixture(from);
    fs.writeFileSync(path.join(from, 'config.json'), '{oops');
    expect(() => importGPT2(from, fresh('out'))).toThrow(/config\.json: cannot read/);
    fs.rmSync(path.join(from, 'config.json'));
    expect(() => importGPT2(from, fresh('out'))).toThrow(/missing config\.json/);
    writeHfGpt2Fixture(from);
    fs.renameSync(path.join(from, 'model.safetensors'), path.join(from, 'pytorch_model.bin'));
    expect(() => importGPT2(from, fresh('out'))).toThrow(/model\.safetensors: only pytorch_model\.bin/);
    writeHfGpt2Fixture(from);
    fs.writeFileSync(path.join(from, 'tokenizer.json'), 'nope');
    expect(() => importGPT2(from, fresh('out'))).toThrow(/tokenizer\.json: not valid JSON/);
    expect(() => importGPT2(fresh('nothing'), fresh('out'))).toThrow(/does not exist/);
  });
});

describe('lmtrain import gpt2', () => {
  it('imports, refuses to overwrite without --force, and reports usage errors', async () => {
    const from = fresh('hf'), out = fresh('out');
    writeHfGpt2Fixture(from);
    const logs: string[] = [];
    const log = console.log, err = console.error;
    console.log = (...a: unknown[]) => { logs.push(a.join(' ')); };
    console.error = (...a: unknown[]) => { logs.push(a.join(' ')); };
    try {
      expect(await runImport(['gpt2', '--from', from, '--out', out])).toBe(0);
      expect(logs.join('\n')).toMatch(/imported GPT-2 \(2 layers, 2 heads, n_embd 16, vocab 50, context 32; 7,904 parameters\)/);
      expect(fs.readdirSync(out).sort()).toEqual(['config.json', 'model.safetensors']);
      expect(await runImport(['gpt2', '--from', from, '--out', out])).toBe(1);
      expect(logs.at(-1)).toMatch(/already holds a checkpoint; pass --force/);
      expect(await runImport(['gpt2', '--from', from, '--out', out, '--force'])).toBe(0);
      expect(await runImport(['gpt2', '--from', path.join(from, 'nope'), '--out', fresh('out')])).toBe(1);
      expect(logs.at(-1)).toMatch(/does not exist/);
      expect(await runImport(['bert', '--from', from, '--out', out])).toBe(2);
      expect(await runImport(['gpt2', '--from', from])).toBe(2);
      expect(await runImport(['gpt2', '--from', '--out', out])).toBe(2);
      expect(await runImport(['gpt2', '--from', from, '--out', out, '--bogus'])).toBe(2);
      expect(await runImport([])).toBe(2);
    } finally {
      console.log = log;
      console.error = err;
    }
  });
});

describe('imported checkpoint in the native GPT', () => {
  it('GPT logits match the float64 HF reference within 1e-4 relative', async () => {
    const { GPT } = await import('../../src/models/gpt.js');
    const from = fresh('hf'), out = fresh('out');
    const fx = writeHfGpt2Fixture(from);
    importGPT2(from, out);
    const model = GPT.fromCheckpoint(out);
    try {
      model.eval();
      const ids = IDS.slice(0, 8);
      const got = tidy(() => model.forward(tensor(Int32Array.from([...ids, ...ids.slice().reverse()]), [2, 8], 'int32')).toArray());
      const V = fx.config.vocab_size;
      const ref0 = hfGpt2Logits(fx.weights, fx.config, ids, fx.prefix);
      const ref1 = hfGpt2Logits(fx.weights, fx.config, ids.slice().reverse(), fx.prefix);
      const err = Math.max(maxRelErr(got.subarray(0, 8 * V), ref0), maxRelErr(got.subarray(8 * V), ref1));
      console.log(`GPT.fromCheckpoint on the imported checkpoint vs HF reference: max_rel_err ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-4);
    } finally {
      model.dispose();
    }
  });
});
