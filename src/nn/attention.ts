/** Multi-head self-attention with a fused qkv projection (GPT-2), optionally with a KV cache. */
import { Module } from './module.js';
import { Dropout, Linear } from './layers.js';
import { Tensor } from '../tensor/tensor.js';
import type { Device } from '../tensor/tensor.js';
import { zeros } from '../tensor/creation.js';
import { keep } from '../tensor/scope.js';
import { permute, reshape, slice, addToSlice } from '../ops/shape.js';
import { attention } from '../ops/attention.js';

/** Keys and values of one layer for positions [0, length), in (B, NH, Tmax, HS) buffers. */
export class LayerKV {
  readonly k: Tensor;
  readonly v: Tensor;
  constructor(B: number, NH: number, Tmax: number, HS: number, device: Device = 'cpu') {
    this.k = keep(zeros([B, NH, Tmax, HS], 'float32', device));
    this.v = keep(zeros([B, NH, Tmax, HS], 'float32', device));
  }
  dispose(): void {
    this.k.dispose();
    this.v.dispose();
  }
}

/** Per-layer caches plus the number of positions already written (write-once, in order). */
export class KVCache {
  length = 0;
  readonly layers: LayerKV[];
  constructor(readonly nLayer: number, readonly B: number, readonly NH: number, readonly Tmax: number, readonly HS: number, device: Device = 'cpu') {
    this.layers = Array.from({ length: nLayer }, () => new LayerKV(B, NH, Tmax, HS, device));
  }
  dispose(): void {
    this.layers.forEach((l) => l.dispose());
  }
}

export class CausalSelfAttention extends Module {
  qkv: Linear;
  proj: Linear;
  drop: Dropout;
  constructor(readonly dim: number, readonly nHead: number, opts: { dropout?: number; projStd?: number } = {}) {
    super();
    this.qkv = new Linear(dim, 3 * dim);
    this.proj = new Linear(dim, dim, { std: opts.projStd });
    this.drop = new Dropout(opts.dropout ?? 0);
  }

  /**
   * x (B,T,C) -> (B,T,C). With a cache, x holds the positions after cache.length.
   * attnBias (1|B, NH, T, past+T) is added to the scores on top of the causal mask, e.g. a
   * block-diagonal 0/-inf mask that keeps packed examples from seeing each other.
   */
  forward(x: Tensor, opts: { cache?: LayerKV; past?: number; keyPaddingMask?: Tensor | null; attnBias?: Tensor | null } = {}): Tensor {
    const [B, T, C] = x.shape;
    const NH = this.nHead, HS = C / NH;
    const qkv = reshape(this.qkv.forward(x), [B, T, 3, NH, HS]);
    const heads = permute(qkv, [2, 0, 3, 1, 4]); // (3, B, NH, T, HS)
    const q = reshape(slice(heads, 0, 0, 1), [B, NH, T, HS]);
    let k = reshape(slice(heads, 0, 1, 2), [B, NH, T, HS]);
    let v = reshape(slice(heads, 0, 2, 3), [B, NH, T, HS]);
    if (opts.cache) {
      const past = opts.past ?? 0;
      addToSlice(opts.cache.k, k, 2, past);
      addToSlice(opts.cache.v, v, 2, past);
      k = slice(opts.cache.k, 2, 0, past + T);
      v = slice(opts.cache.v, 2, 0, past + T);
    }
    const y = attention(q, k, v, { causal: true, bias: opts.attnBias ?? null, keyPaddingMask: opts.keyPaddingMask ?? null }); // (B, NH, T, HS)
    const merged = reshape(permute(y, [0, 2, 1, 3]), [B, T, C]);
    return this.drop.forward(this.proj.forward(merged));
  }
}
