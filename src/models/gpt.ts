/**
 * GPT (decoder-only, GPT-2 style): learned positions, pre-LayerNorm blocks, fused qkv,
 * GELU MLP 4x, LM head tied to the token embedding. Initialisation as GPT-2: weights
 * N(0, 0.02), residual projections N(0, 0.02/sqrt(2 n_layer)), biases 0, norms 1.
 */
import { Module } from '../nn/module.js';
import { Dropout, Embedding, LayerNorm, MLP } from '../nn/layers.js';
import { CausalSelfAttention, KVCache, type LayerKV } from '../nn/attention.js';
import { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/creation.js';
import { add } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { expand, reshape } from '../ops/shape.js';
import { crossEntropy } from '../ops/cross_entropy.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { shapeStr } from '../tensor/shape.js';
import { gptConfig, type GPTConfig } from './config.js';

export class Block extends Module {
  ln1: LayerNorm;
  attn: CausalSelfAttention;
  ln2: LayerNorm;
  mlp: MLP;
  constructor(c: GPTConfig) {
    super();
    const projStd = 0.02 / Math.sqrt(2 * c.n_layer);
    this.ln1 = new LayerNorm(c.n_embd, c.layer_norm_epsilon);
    this.attn = new CausalSelfAttention(c.n_embd, c.n_head, { dropout: c.dropout, projStd });
    this.ln2 = new LayerNorm(c.n_embd, c.layer_norm_epsilon);
    this.mlp = new MLP(c.n_embd, 4 * c.n_embd, { dropout: c.dropout, projStd });
  }
  forward(x: Tensor, opts: { cache?: LayerKV; past?: number; keyPaddingMask?: Tensor | null; attnBias?: Tensor | null } = {}): Tensor {
    const h = add(x, this.attn.forward(this.ln1.forward(x), opts));
    return add(h, this.mlp.forward(this.ln2.forward(h)));
  }
}

export interface GPTForwardOpts {
  /** Continue from the positions held in the cache (generation). */
  cache?: KVCache;
  /** (B, T) float32, 1 = real token, 0 = padding (keys only; causal masking is always on). */
  keyPaddingMask?: Tensor | null;
  /**
   * (B, T) int32 positions, for rows that hold several packed examples whose positions each
   * start at 0. Default: past, past+1, ... for every row.
   */
  positionIds?: Tensor | null;
  /**
   * Additive attention-score bias (1|B, 1|NH, T, past+T), 0 = visible, -inf = hidden, on top
   * of the causal mask (e.g. block-diagonal for packed rows). A bias with one head is
   * broadcast to all heads once here, not in every layer.
   */
  attnBias?: Tensor | null;
}

export class GPT extends Module {
  readonly config: GPTConfig;
  wte: Embedding;
  wpe: Embedding;
  drop: Dropout;
  blocks: Block[];
  ln_f: LayerNorm;

  constructor(config: Partial<GPTConfig> & { preset?: string } = {}) {
    super();
    this.config = gptConfig(config);
    const c = this.config;
    this.wte = new Embedding(c.vocab_size, c.n_embd);
    this.wpe = new Embedding(c.n_positions, c.n_embd);
    this.drop = new Dropout(c.dropout);
    this.blocks = Array.from({ length: c.n_layer }, () => new Block(c));
    this.ln_f = new LayerNorm(c.n_embd, c.layer_norm_epsilon);
  }

  /** ids (B, T) int32 -> logits (B, T, V). */
  forward(ids: Tensor, opts: GPTForwardOpts = {}): Tensor {
    const h = this.forwardHidden(ids, opts);
    const [B, T, C] = h.shape;
    return reshape(matmul(reshape(h, [B * T, C]), this.wte.weight, { transB: true }), [B, T, this.config.vocab_size]);
  }

  /** ids (B, T) int32 -> final hidden states (B, T, C) after ln_f, for the LM head and other heads. */
  forwardHidden(ids: Tensor, opts: GPTForwardOpts = {}): Tensor {
    if (!(ids instanceof Tensor) || ids.dtype !== 'int32' || ids.ndim !== 2)
      throw new ShapeError(`GPT.forward: ids must be an int32 tensor (B, T), got ${ids instanceof Tensor ? `${ids.dtype} ${shapeStr(ids.shape)}` : typeof ids}`);
    const [B, T] = ids.shape;
    const c = this.config;
    const past = opts.cache?.length ?? 0;
    if (past + T > c.n_positions)
      throw new ShapeError(`GPT.forward: ${past + T} positions exceed the context length n_positions = ${c.n_positions}`);
    if (opts.cache && (opts.cache.B !== B || opts.cache.nLayer !== c.n_layer))
      throw new ArgumentError('GPT.forward: the KV cache was made for another batch size or model');
    const posIds = opts.positionIds ?? null;
    if (posIds && (!(posIds instanceof Tensor) || posIds.dtype !== 'int32' || posIds.ndim !== 2 || posIds.shape[0] !== B || posIds.shape[1] !== T))
      throw new ShapeError(`GPT.forward: positionIds must be an int32 tensor (${B}, ${T}), got ${posIds instanceof Tensor ? `${posIds.dtype} ${shapeStr(posIds.shape)}` : typeof posIds}`);
    const pos = posIds ?? tensor(Int32Array.from({ length: T }, (_, i) => past + i), [T], 'int32', ids.device);
    let x = this.drop.forward(add(this.wte.forward(ids), this.wpe.forward(pos)));
    const attnBias = this.headBias(opts.attnBias ?? null, B, T, past + T);
    this.blocks.forEach((b, i) => {
      x = b.forward(x, { cache: opts.cache?.layers[i], past, keyPaddingMask: opts.keyPaddingMask, attnBias });
    });
    if (opts.cache) opts.cache.length = past + T;
    return this.ln_f.forward(x);
  }

  private headBias(bias: Tensor | null, B: number, T: number, Tk: number): Tensor | null {
    if (!bias) return null;
    const NH = this.config.n_head;
    if (!(bias instanceof Tensor) || bias.ndim !== 4 || (bias.shape[0] !== 1 && bias.shape[0] !== B) || (bias.shape[1] !== 1 && bias.shape[1] !== NH) || bias.shape[2] !== T || bias.shape[3] !== Tk)
      throw new ShapeError(`GPT.forward: attnBias must be (1 or ${B}, 1 or ${NH}, ${T}, ${Tk}), got ${bias instanceof Tensor ? shapeStr(bias.shape) : typeof bias}`);
    return bias.shape[1] === NH ? bias : expand(bias, [bias.shape[0], NH, T, Tk]);
  }

  /** Mean next-token cross-entropy; targets (B, T) int32 with -100 (or ignoreIndex) to skip. */
  loss(ids: Tensor, targets: Tensor, opts: { ignoreIndex?: number } & Pick<GPTForwardOpts, 'keyPaddingMask' | 'positionIds' | 'attnBias'> = {}): Tensor {
    const { keyPaddingMask, positionIds, attnBias } = opts;
    return crossEntropy(this.forward(ids, { keyPaddingMask, positionIds, attnBias }), targets, { ignoreIndex: opts.ignoreIndex ?? -100 });
  }

  static fromCheckpoint(dir: string): GPT {
    return gptFromCheckpoint(dir);
  }

  newCache(B: number, maxLength = this.config.n_positions): KVCache {
    const c = this.config;
    return new KVCache(c.n_layer, B, c.n_head, Math.min(maxLength, c.n_positions), c.n_embd / c.n_head, this.device);
  }

  /** Forward FLOPs per token (weights, attention at context T), for throughput figures. */
  flopsPerToken(T: number): number {
    const c = this.config;
    const nonEmbedding = this.numParameters() - c.vocab_size * c.n_embd - c.n_positions * c.n_embd;
    return 2 * (nonEmbedding + c.vocab_size * c.n_embd) + 2 * c.n_layer * T * c.n_embd;
  }

}

import { loadCheckpoint } from '../io/checkpoint.js';
import { DataError } from '../errors.js';

/** Loads a GPT from a checkpoint directory (config.json + model.safetensors). */
export function gptFromCheckpoint(dir: string): GPT {
  const ck = loadCheckpoint(dir);
  const cfg = ck.config as Partial<GPTConfig>;
  if (cfg.model_type !== 'gpt') throw new DataError(`config.json has model_type '${String(cfg.model_type)}', expected 'gpt'`, `${dir}/config.json`);
  const m = new GPT(cfg);
  try {
    m.loadStateDict(ck.weights);
  } catch (e) {
    m.dispose();
    throw e;
  }
  return m;
}
