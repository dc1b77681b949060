/**
 * A small random GPT-2 in Hugging Face layout (config.json + model.safetensors), as
 * GPT2LMHeadModel.save_pretrained writes it: `transformer.` prefix, Conv1D weights (in, out),
 * the attn.bias / attn.masked_bias buffers. Values come from the seeded test RNG.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeSafetensors, type StoredTensor } from '../../src/io/safetensors.js';
import { randnArray } from './rng.js';

export interface HfGpt2FixtureOptions {
  n_layer?: number;
  n_embd?: number;
  n_head?: number;
  vocab_size?: number;
  n_positions?: number;
  /** 'transformer.' (GPT2LMHeadModel, the default) or '' (GPT2Model). */
  prefix?: string;
  /** Write the causal-mask buffers that older transformers versions saved. */
  buffers?: boolean;
  /** Write lm_head.weight as a copy of wte.weight. */
  lmHead?: boolean;
  /** Name config.json's context key n_ctx instead of n_positions. */
  useNCtx?: boolean;
  tokenizer?: object;
}

export interface HfGpt2Fixture {
  config: { vocab_size: number; n_positions: number; n_layer: number; n_head: number; n_embd: number; layer_norm_epsilon: number };
  weights: Record<string, StoredTensor>;
  prefix: string;
}

export function writeHfGpt2Fixture(dir: string, o: HfGpt2FixtureOptions = {}): HfGpt2Fixture {
  const L = o.n_layer ?? 2, C = o.n_embd ?? 16, NH = o.n_head ?? 2, V = o.vocab_size ?? 50, P = o.n_positions ?? 32;
  const prefix = o.prefix ?? 'transformer.';
  const w: Record<string, StoredTensor> = {};
  const rnd = (name: string, shape: number[], scale: number, offset = 0): void => {
    const n = shape.reduce((a, b) => a * b, 1);
    w[prefix + name] = { shape, data: randnArray(n, scale).map((x) => x + offset) };
  };
  rnd('wte.weight', [V, C], 0.5);
  rnd('wpe.weight', [P, C], 0.2);
  for (let i = 0; i < L; i++) {
    const h = `h.${i}.`;
    rnd(h + 'ln_1.weight', [C], 0.1, 1);
    rnd(h + 'ln_1.bias', [C], 0.1);
    rnd(h + 'attn.c_attn.weight', [C, 3 * C], 0.4);
    rnd(h + 'attn.c_attn.bias', [3 * C], 0.1);
    rnd(h + 'attn.c_proj.weight', [C, C], 0.3);
    rnd(h + 'attn.c_proj.bias', [C], 0.1);
    rnd(h + 'ln_2.weight', [C], 0.1, 1);
    rnd(h + 'ln_2.bias', [C], 0.1);
    rnd(h + 'mlp.c_fc.weight', [C, 4 * C], 0.3);
    rnd(h + 'mlp.c_fc.bias', [4 * C], 0.1);
    rnd(h + 'mlp.c_proj.weight', [4 * C, C], 0.2);
    rnd(h + 'mlp.c_proj.bias', [C], 0.1);
    if (o.buffers ?? true) {
      const mask = new Float32Array(P * P);
      for (let r = 0; r < P; r++) for (let c = 0; c <= r; c++) mask[r * P + c] = 1;
      w[prefix + h + 'attn.bias'] = { shape: [1, 1, P, P], data: mask };
      w[prefix + h + 'attn.masked_bias'] = { shape: [], data: Float32Array.of(-1e4) };
    }
  }
  rnd('ln_f.weight', [C], 0.1, 1);
  rnd('ln_f.bias', [C], 0.1);
  if (o.lmHead ?? true) w['lm_head.weight'] = { shape: [V, C], data: w[prefix + 'wte.weight'].data.slice() };

  const config = { vocab_size: V, n_positions: P, n_layer: L, n_head: NH, n_embd: C, layer_norm_epsilon: 1e-5 };
  fs.mkdirSync(dir, { recursive: true });
  const { n_positions, ...rest } = config;
  const hfConfig = {
    activation_function: 'gelu_new', architectures: ['GPT2LMHeadModel'], model_type: 'gpt2',
    ...rest, ...(o.useNCtx ? { n_ctx: n_positions } : { n_ctx: n_positions, n_positions }),
    attn_pdrop: 0.1, embd_pdrop: 0.1, resid_pdrop: 0.1, n_inner: null, scale_attn_weights: true,
  };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(hfConfig, null, 2));
  writeSafetensors(path.join(dir, 'model.safetensors'), w, { format: 'pt' });
  if (o.tokenizer) fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(o.tokenizer));
  return { config, weights: w, prefix };
}
