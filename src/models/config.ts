/**
 * Model configs as stored in a checkpoint's config.json (Hugging Face style: snake_case keys,
 * `model_type` first). Presets are the benchmark configs of ARCHITECTURE.md §7 plus the
 * small ones the demo and tests use.
 *
 * Parameter names (the keys of model.safetensors), shapes as stored, Linear weights (out, in):
 *   GPT:  wte.weight (V,C) · wpe.weight (T,C) · blocks.{i}.ln1.{weight,bias} (C)
 *         blocks.{i}.attn.qkv.{weight (3C,C), bias (3C)} · blocks.{i}.attn.proj.{weight (C,C), bias}
 *         blocks.{i}.ln2.{weight,bias} · blocks.{i}.mlp.fc.{weight (4C,C), bias (4C)}
 *         blocks.{i}.mlp.proj.{weight (C,4C), bias (C)} · ln_f.{weight,bias}; the LM head is tied to wte.
 */
import { ArgumentError } from '../errors.js';

export interface GPTConfig {
  model_type: 'gpt';
  vocab_size: number;
  /** Context length (learned positions). */
  n_positions: number;
  n_layer: number;
  n_head: number;
  n_embd: number;
  dropout: number;
  layer_norm_epsilon: number;
}

export interface BertConfig {
  model_type: 'bert';
  vocab_size: number;
  n_positions: number;
  n_layer: number;
  n_head: number;
  n_embd: number;
  dropout: number;
  layer_norm_epsilon: number;
  /** Token-type (segment) vocabulary, 2 as in BERT. */
  type_vocab_size: number;
}

export interface T5Config {
  model_type: 't5';
  vocab_size: number;
  n_layer: number;
  n_decoder_layer: number;
  n_head: number;
  n_embd: number;
  /** Width of each head's key/query/value (T5's d_kv). */
  d_kv: number;
  d_ff: number;
  dropout: number;
  layer_norm_epsilon: number;
  relative_attention_num_buckets: number;
  relative_attention_max_distance: number;
}

export type ModelConfig = GPTConfig | BertConfig | T5Config;

export const GPT_PRESETS: Record<string, Omit<GPTConfig, 'model_type'>> = {
  tiny: { vocab_size: 256, n_positions: 128, n_layer: 4, n_head: 4, n_embd: 128, dropout: 0, layer_norm_epsilon: 1e-5 },
  small: { vocab_size: 8192, n_positions: 256, n_layer: 6, n_head: 6, n_embd: 384, dropout: 0, layer_norm_epsilon: 1e-5 },
  'gpt2-124m': { vocab_size: 50257, n_positions: 1024, n_layer: 12, n_head: 12, n_embd: 768, dropout: 0, layer_norm_epsilon: 1e-5 },
};

export function gptConfig(partial: Partial<GPTConfig> & { preset?: string } = {}): GPTConfig {
  const { preset, ...rest } = partial;
  const base = preset ? GPT_PRESETS[preset] : GPT_PRESETS.tiny;
  if (!base) throw new ArgumentError(`gptConfig: unknown preset '${preset}' (known: ${Object.keys(GPT_PRESETS).join(', ')})`);
  const c: GPTConfig = { model_type: 'gpt', ...base, ...rest };
  validateCommon(c, 'gptConfig');
  return c;
}

export function validateCommon(c: { vocab_size: number; n_layer: number; n_head: number; n_embd: number; dropout: number }, what: string): void {
  for (const k of ['vocab_size', 'n_layer', 'n_head', 'n_embd'] as const)
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new ArgumentError(`${what}: ${k} must be a positive integer, got ${String(c[k])}`);
  if (c.n_embd % c.n_head !== 0) throw new ArgumentError(`${what}: n_embd ${c.n_embd} is not divisible by n_head ${c.n_head}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new ArgumentError(`${what}: dropout must be in [0, 1), got ${c.dropout}`);
}
