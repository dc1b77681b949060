/**
 * BERT (Devlin et al. 2019): a bidirectional encoder. Learned word + position + token-type
 * embeddings, LayerNorm and dropout; post-LayerNorm blocks, x = LN(x + attn(x)) then
 * x = LN(x + FFN(x)), with a GELU FFN of 4C; a masked-LM head (dense, GELU, LayerNorm,
 * decoder tied to the word embeddings plus an output bias) and the [CLS] pooler (dense +
 * tanh on position 0). Initialisation as the paper's code: weights N(0, 0.02), biases 0,
 * norms 1 (no depth scaling: post-LN keeps the residual stream normalised).
 *
 * Parameter names (the keys of model.safetensors), Linear weights (out, in):
 *   wte.weight (V,C) · wpe.weight (T,C) · wtt.weight (type_vocab_size,C) · ln_emb.{weight,bias} (C)
 *   blocks.{i}.attn.qkv.{weight (3C,C), bias (3C)} · blocks.{i}.attn.proj.{weight (C,C), bias (C)}
 *   blocks.{i}.ln1.{weight,bias} · blocks.{i}.mlp.fc.{weight (4C,C), bias (4C)}
 *   blocks.{i}.mlp.proj.{weight (C,4C), bias (C)} · blocks.{i}.ln2.{weight,bias}
 *   mlm.dense.{weight (C,C), bias} · mlm.ln.{weight,bias} · mlm.bias (V); the decoder is tied to wte
 *   pooler.{weight (C,C), bias (C)}
 * Count: (V + T + type_vocab_size) C + L (12 C^2 + 13 C) + 2 C^2 + 6 C + V.
 */
import { Module, param } from '../nn/module.js';
import { Dropout, Embedding, LayerNorm, Linear, MLP } from '../nn/layers.js';
import { SelfAttention } from '../nn/self_attention.js';
import { Tensor } from '../tensor/tensor.js';
import { tensor, zeros } from '../tensor/creation.js';
import { add, tanh } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { gather, reshape, slice } from '../ops/shape.js';
import { gelu } from '../ops/gelu.js';
import { crossEntropy } from '../ops/cross_entropy.js';
import { ShapeError } from '../errors.js';
import { sameShape, shapeStr } from '../tensor/shape.js';
import { bertConfig, type BertConfig } from './config.js';

export class BertBlock extends Module {
  attn: SelfAttention;
  ln1: LayerNorm;
  mlp: MLP;
  ln2: LayerNorm;
  constructor(c: BertConfig) {
    super();
    this.attn = new SelfAttention(c.n_embd, c.n_head, { dropout: c.dropout });
    this.ln1 = new LayerNorm(c.n_embd, c.layer_norm_epsilon);
    this.mlp = new MLP(c.n_embd, 4 * c.n_embd, { dropout: c.dropout });
    this.ln2 = new LayerNorm(c.n_embd, c.layer_norm_epsilon);
  }
  forward(x: Tensor, keyPaddingMask: Tensor | null): Tensor {
    const h = this.ln1.forward(add(x, this.attn.forward(x, { keyPaddingMask })));
    return this.ln2.forward(add(h, this.mlp.forward(h)));
  }
}

/** The masked-LM transform; the decoder matrix is the word embedding, passed in. */
export class MLMHead extends Module {
  dense: Linear;
  ln: LayerNorm;
  bias: Tensor;
  constructor(c: BertConfig) {
    super();
    this.dense = new Linear(c.n_embd, c.n_embd);
    this.ln = new LayerNorm(c.n_embd, c.layer_norm_epsilon);
    this.bias = param(zeros([c.vocab_size]));
  }
  /** h (N, C) -> logits (N, V). */
  forward(h: Tensor, decoder: Tensor): Tensor {
    const t = this.ln.forward(gelu(this.dense.forward(h)));
    return add(matmul(t, decoder, { transB: true }), this.bias);
  }
}

export interface BertForwardOpts {
  /** (B, T) int32 segment ids in [0, type_vocab_size); default all 0. */
  tokenTypeIds?: Tensor | null;
  /** (B, T) float32, 1 = real token, 0 = padding. */
  attentionMask?: Tensor | null;
}

export class Bert extends Module {
  readonly config: BertConfig;
  wte: Embedding;
  wpe: Embedding;
  wtt: Embedding;
  ln_emb: LayerNorm;
  drop: Dropout;
  blocks: BertBlock[];
  mlm: MLMHead;
  pooler: Linear;

  constructor(config: Partial<BertConfig> & { preset?: string } = {}) {
    super();
    this.config = bertConfig(config);
    const c = this.config;
    this.wte = new Embedding(c.vocab_size, c.n_embd);
    this.wpe = new Embedding(c.n_positions, c.n_embd);
    this.wtt = new Embedding(c.type_vocab_size, c.n_embd);
    this.ln_emb = new LayerNorm(c.n_embd, c.layer_norm_epsilon);
    this.drop = new Dropout(c.dropout);
    this.blocks = Array.from({ length: c.n_layer }, () => new BertBlock(c));
    this.mlm = new MLMHead(c);
    this.pooler = new Linear(c.n_embd, c.n_embd);
  }

  /** ids (B, T) int32 -> hidden states (B, T, C). */
  forward(ids: Tensor, opts: BertForwardOpts = {}): Tensor {
    if (!(ids instanceof Tensor) || ids.dtype !== 'int32' || ids.ndim !== 2)
      throw new ShapeError(`Bert.forward: ids must be an int32 tensor (B, T), got ${ids instanceof Tensor ? `${ids.dtype} ${shapeStr(ids.shape)}` : typeof ids}`);
    const [B, T] = ids.shape;
    const c = this.config;
    if (T > c.n_positions) throw new ShapeError(`Bert.forward: ${T} positions exceed the context length n_positions = ${c.n_positions}`);
    const types = opts.tokenTypeIds ?? null;
    if (types && (!(types instanceof Tensor) || types.dtype !== 'int32' || !sameShape(types.shape, ids.shape)))
      throw new ShapeError(`Bert.forward: tokenTypeIds must be int32 ${shapeStr(ids.shape)} like ids, got ${types instanceof Tensor ? `${types.dtype} ${shapeStr(types.shape)}` : typeof types}`);
    const mask = opts.attentionMask ?? null;
    if (mask && (!(mask instanceof Tensor) || mask.dtype !== 'float32' || !sameShape(mask.shape, [B, T])))
      throw new ShapeError(`Bert.forward: attentionMask must be float32 (${B}, ${T}) of 1/0, got ${mask instanceof Tensor ? `${mask.dtype} ${shapeStr(mask.shape)}` : typeof mask}`);
    const pos = tensor(Int32Array.from({ length: T }, (_, i) => i), [T], 'int32', ids.device);
    // Without segment ids every token is segment 0: one (T, C) row block broadcast over B.
    const tt = this.wtt.forward(types ?? zeros([T], 'int32', ids.device));
    const x0 = add(add(this.wte.forward(ids), this.wpe.forward(pos)), tt);
    let x = this.drop.forward(this.ln_emb.forward(x0));
    for (const b of this.blocks) x = b.forward(x, mask);
    return x;
  }

  /** Masked-LM logits (B, T, V) at every position. */
  mlmLogits(ids: Tensor, opts: BertForwardOpts = {}): Tensor {
    const h = this.forward(ids, opts);
    const [B, T, C] = h.shape;
    return reshape(this.mlm.forward(reshape(h, [B * T, C]), this.wte.weight), [B, T, this.config.vocab_size]);
  }

  /**
   * Mean cross-entropy over the positions whose label is not ignoreIndex (default -100).
   * Only those rows go through the head: with 15% masking that skips most of the (N, V) matmul.
   */
  mlmLoss(ids: Tensor, labels: Tensor, opts: BertForwardOpts & { ignoreIndex?: number } = {}): Tensor {
    const ignoreIndex = opts.ignoreIndex ?? -100;
    if (!(labels instanceof Tensor) || labels.dtype !== 'int32' || !(ids instanceof Tensor) || !sameShape(labels.shape, ids.shape))
      throw new ShapeError(`Bert.mlmLoss: labels must be int32 shaped like ids ${ids instanceof Tensor ? shapeStr(ids.shape) : ''}, got ${labels instanceof Tensor ? `${labels.dtype} ${shapeStr(labels.shape)}` : typeof labels}`);
    const lab = labels.toArray();
    const rows: number[] = [];
    for (let i = 0; i < lab.length; i++) if (lab[i] !== ignoreIndex) rows.push(i);
    if (rows.length === 0) return crossEntropy(this.mlmLogits(ids, opts), labels, { ignoreIndex });
    const h = reshape(this.forward(ids, opts), [lab.length, this.config.n_embd]);
    const picked = gather(h, tensor(Int32Array.from(rows), [rows.length], 'int32', h.device), 0); // (N, C)
    const targets = tensor(Int32Array.from(rows, (i) => lab[i]), [rows.length], 'int32', h.device);
    return crossEntropy(this.mlm.forward(picked, this.wte.weight), targets, { ignoreIndex });
  }

  /** The [CLS] summary: tanh(dense(h[:, 0])) -> (B, C), for sentence-level heads. */
  pooled(ids: Tensor, opts: BertForwardOpts = {}): Tensor {
    const h = this.forward(ids, opts);
    const [B, , C] = h.shape;
    return tanh(this.pooler.forward(reshape(slice(h, 1, 0, 1), [B, C])));
  }
}
