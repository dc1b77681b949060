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

/**
 * Checks shared by every model config. Configs come from files (config.json), so the sizes
 * are bounded before anything is allocated: a hostile file cannot ask for terabytes.
 */
const LIMITS = { vocab_size: 1 << 21, n_layer: 512, n_head: 1024, n_embd: 1 << 16, n_positions: 1 << 20 } as const;

export function validateCommon(c: { vocab_size: number; n_layer: number; n_head: number; n_embd: number; dropout: number; n_positions?: number }, what: string): void {
  for (const k of ['vocab_size', 'n_layer', 'n_head', 'n_embd'] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new ArgumentError(`${what}: ${k} must be a positive integer, got ${String(c[k])}`);
    if (c[k] > LIMITS[k]) throw new ArgumentError(`${what}: ${k} = ${c[k]} exceeds the supported maximum ${LIMITS[k]}`);
  }
  if ('n_positions' in c && c.n_positions !== undefined) {
    if (!Number.isInteger(c.n_positions) || c.n_positions <= 0 || c.n_positions > LIMITS.n_positions)
      throw new ArgumentError(`${what}: n_positions must be an integer in [1, ${LIMITS.n_positions}], got ${String(c.n_positions)}`);
  }
  if (c.n_embd % c.n_head !== 0) throw new ArgumentError(`${what}: n_embd ${c.n_embd} is not divisible by n_head ${c.n_head}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new ArgumentError(`${what}: dropout must be in [0, 1), got ${c.dropout}`);
  // A model above ~8 G parameters cannot be meant for this library's CPU/GPU path.
  const approx = c.vocab_size * c.n_embd + 12 * c.n_layer * c.n_embd * c.n_embd;
  if (approx > 8e9) throw new ArgumentError(`${what}: the config describes about ${(approx / 1e9).toFixed(1)} G parameters; refusing to allocate`);
}

export const BERT_PRESETS: Record<string, Omit<BertConfig, 'model_type'>> = {
  tiny: { vocab_size: 256, n_positions: 128, n_layer: 4, n_head: 4, n_embd: 128, dropout: 0, layer_norm_epsilon: 1e-12, type_vocab_size: 2 },
  small: { vocab_size: 8192, n_positions: 256, n_layer: 6, n_head: 6, n_embd: 384, dropout: 0, layer_norm_epsilon: 1e-12, type_vocab_size: 2 },
  // The paper's models (Devlin et al. 2019, WordPiece vocabulary of the released checkpoints).
  'bert-base': { vocab_size: 30522, n_positions: 512, n_layer: 12, n_head: 12, n_embd: 768, dropout: 0.1, layer_norm_epsilon: 1e-12, type_vocab_size: 2 },
  'bert-large': { vocab_size: 30522, n_positions: 512, n_layer: 24, n_head: 16, n_embd: 1024, dropout: 0.1, layer_norm_epsilon: 1e-12, type_vocab_size: 2 },
};

export function bertConfig(partial: Partial<BertConfig> & { preset?: string } = {}): BertConfig {
  const { preset, ...rest } = partial;
  const base = preset ? BERT_PRESETS[preset] : BERT_PRESETS.tiny;
  if (!base) throw new ArgumentError(`bertConfig: unknown preset '${preset}' (known: ${Object.keys(BERT_PRESETS).join(', ')})`);
  const c: BertConfig = { model_type: 'bert', ...base, ...rest };
  validateCommon(c, 'bertConfig');
  for (const k of ['n_positions', 'type_vocab_size'] as const)
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new ArgumentError(`bertConfig: ${k} must be a positive integer, got ${String(c[k])}`);
  return c;
}

export const T5_PRESETS: Record<string, Omit<T5Config, 'model_type'>> = {
  tiny: { vocab_size: 256, n_layer: 4, n_decoder_layer: 4, n_head: 4, n_embd: 128, d_kv: 32, d_ff: 512, dropout: 0, layer_norm_epsilon: 1e-6, relative_attention_num_buckets: 32, relative_attention_max_distance: 128 },
  small: { vocab_size: 8192, n_layer: 6, n_decoder_layer: 6, n_head: 6, n_embd: 384, d_kv: 64, d_ff: 1536, dropout: 0, layer_norm_epsilon: 1e-6, relative_attention_num_buckets: 32, relative_attention_max_distance: 128 },
  // The paper's models (Raffel et al. 2020, v1.0: ReLU FFN, tied head, SentencePiece vocabulary of 32128).
  't5-small': { vocab_size: 32128, n_layer: 6, n_decoder_layer: 6, n_head: 8, n_embd: 512, d_kv: 64, d_ff: 2048, dropout: 0.1, layer_norm_epsilon: 1e-6, relative_attention_num_buckets: 32, relative_attention_max_distance: 128 },
  't5-base': { vocab_size: 32128, n_layer: 12, n_decoder_layer: 12, n_head: 12, n_embd: 768, d_kv: 64, d_ff: 3072, dropout: 0.1, layer_norm_epsilon: 1e-6, relative_attention_num_buckets: 32, relative_attention_max_distance: 128 },
};

export function t5Config(partial: Partial<T5Config> & { preset?: string } = {}): T5Config {
  const { preset, ...rest } = partial;
  const base = preset ? T5_PRESETS[preset] : T5_PRESETS.tiny;
  if (!base) throw new ArgumentError(`t5Config: unknown preset '${preset}' (known: ${Object.keys(T5_PRESETS).join(', ')})`);
  const c: T5Config = { model_type: 't5', ...base, ...rest };
  // Not validateCommon: T5's attention width is n_head * d_kv, so n_embd need not divide by n_head.
  for (const k of ['vocab_size', 'n_layer', 'n_decoder_layer', 'n_head', 'n_embd', 'd_kv', 'd_ff', 'relative_attention_num_buckets', 'relative_attention_max_distance'] as const)
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new ArgumentError(`t5Config: ${k} must be a positive integer, got ${String(c[k])}`);
  if (c.relative_attention_num_buckets < 4)
    throw new ArgumentError(`t5Config: relative_attention_num_buckets must be at least 4 (half exact, half logarithmic per direction), got ${c.relative_attention_num_buckets}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new ArgumentError(`t5Config: dropout must be in [0, 1), got ${c.dropout}`);
  if (!(c.layer_norm_epsilon > 0)) throw new ArgumentError(`t5Config: layer_norm_epsilon must be positive, got ${c.layer_norm_epsilon}`);
  return c;
}
