/**
 * Multi-head self-attention for encoders (BERT): every position sees every other (not
 * causal unless asked), padded keys are hidden by a key padding mask (B, T) of 1/0.
 * The projections are either fused (qkv, one matmul) or separate (q, k, v), which only
 * changes the parameter names. The fused kernel has no attention-probability dropout, so
 * dropout applies to the output projection, as in CausalSelfAttention.
 */
import { Module } from './module.js';
import { Dropout, Linear } from './layers.js';
import { Tensor } from '../tensor/tensor.js';
import { permute, reshape, slice } from '../ops/shape.js';
import { attention } from '../ops/attention.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { shapeStr } from '../tensor/shape.js';

export interface SelfAttentionOpts {
  /** One qkv projection (3C, C) instead of q, k, v (C, C) each. Default true. */
  fused?: boolean;
  /** Biases on the projections. Default true. */
  bias?: boolean;
  /** Only the past is visible (decoders). Default false. */
  causal?: boolean;
  dropout?: number;
  /** Init std of the q/k/v weights (default 0.02) and of the output projection (default std). */
  std?: number;
  projStd?: number;
}

export interface SelfAttentionForwardOpts {
  /** (B, T) float32, 1 = real token, 0 = padding: padded keys get no attention. */
  keyPaddingMask?: Tensor | null;
  /** Additive score bias (1 or B, NH, T, T), e.g. relative positions; receives a gradient. */
  bias?: Tensor | null;
}

export class SelfAttention extends Module {
  qkv?: Linear;
  q?: Linear;
  k?: Linear;
  v?: Linear;
  proj: Linear;
  drop: Dropout;
  readonly causal: boolean;

  constructor(readonly dim: number, readonly nHead: number, opts: SelfAttentionOpts = {}) {
    super();
    if (!Number.isInteger(nHead) || nHead <= 0 || dim % nHead !== 0)
      throw new ArgumentError(`SelfAttention: dim ${dim} must be a multiple of nHead ${nHead}`);
    const lin = { bias: opts.bias ?? true, std: opts.std };
    if (opts.fused ?? true) this.qkv = new Linear(dim, 3 * dim, lin);
    else {
      this.q = new Linear(dim, dim, lin);
      this.k = new Linear(dim, dim, lin);
      this.v = new Linear(dim, dim, lin);
    }
    this.proj = new Linear(dim, dim, { bias: lin.bias, std: opts.projStd ?? opts.std });
    this.drop = new Dropout(opts.dropout ?? 0);
    this.causal = opts.causal ?? false;
  }

  /** x (B, T, C) -> (B, T, C). */
  forward(x: Tensor, opts: SelfAttentionForwardOpts = {}): Tensor {
    if (x.ndim !== 3 || x.shape[2] !== this.dim)
      throw new ShapeError(`SelfAttention: x must be (B, T, ${this.dim}), got ${shapeStr(x.shape)}`);
    const [B, T, C] = x.shape;
    const NH = this.nHead, HS = C / NH;
    let q: Tensor, k: Tensor, v: Tensor;
    if (this.qkv) {
      const heads = permute(reshape(this.qkv.forward(x), [B, T, 3, NH, HS]), [2, 0, 3, 1, 4]); // (3, B, NH, T, HS)
      q = reshape(slice(heads, 0, 0, 1), [B, NH, T, HS]);
      k = reshape(slice(heads, 0, 1, 2), [B, NH, T, HS]);
      v = reshape(slice(heads, 0, 2, 3), [B, NH, T, HS]);
    } else {
      const split = (l: Linear): Tensor => permute(reshape(l.forward(x), [B, T, NH, HS]), [0, 2, 1, 3]); // (B, NH, T, HS)
      q = split(this.q!);
      k = split(this.k!);
      v = split(this.v!);
    }
    const y = attention(q, k, v, { causal: this.causal, bias: opts.bias ?? null, keyPaddingMask: opts.keyPaddingMask ?? null }); // (B, NH, T, HS)
    const merged = reshape(permute(y, [0, 2, 1, 3]), [B, T, C]);
    return this.drop.forward(this.proj.forward(merged));
  }
}
