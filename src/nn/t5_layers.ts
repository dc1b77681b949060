/**
 * T5's pieces (Raffel et al. 2020, v1.0): attention with separate bias-free q, k, v, o of
 * inner width NH * d_kv and no 1/sqrt(d) scaling (the Mesh-TF init puts it into q instead),
 * learned relative position buckets, the ReLU feed-forward, and the decoder's cache.
 */
import { Module } from './module.js';
import { Dropout, Embedding, Linear } from './layers.js';
import { LayerKV } from './attention.js';
import { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/creation.js';
import { keep } from '../tensor/scope.js';
import { noGrad } from '../autograd/graph.js';
import { relu } from '../ops/elementwise.js';
import { addToSlice, gather, permute, reshape, slice } from '../ops/shape.js';
import { attention } from '../ops/attention.js';
import { ArgumentError } from '../errors.js';

/**
 * T5's bucket of the offset relativePosition = key position - query position. Half of the
 * buckets hold exact offsets 0 .. maxExact-1; the rest grow logarithmically up to
 * maxDistance, beyond which everything shares the last bucket. Bidirectional (encoder):
 * the upper half of the buckets is for keys after the query. Unidirectional (decoder):
 * keys after the query fall into bucket 0 (the causal mask hides them anyway).
 */
export function relativePositionBucket(relativePosition: number, bidirectional: boolean, numBuckets = 32, maxDistance = 128): number {
  let bucket = 0;
  let n: number;
  let nb = numBuckets;
  if (bidirectional) {
    nb = Math.floor(nb / 2);
    if (relativePosition > 0) bucket += nb;
    n = Math.abs(relativePosition);
  } else {
    n = Math.max(-relativePosition, 0);
  }
  const maxExact = Math.floor(nb / 2);
  if (n < maxExact) return bucket + n;
  const large = maxExact + Math.floor((Math.log(n / maxExact) / Math.log(maxDistance / maxExact)) * (nb - maxExact));
  return bucket + Math.min(large, nb - 1);
}

export interface RelativeBiasOpts {
  bidirectional: boolean;
  numBuckets: number;
  maxDistance: number;
}

/** Keys/values of cross-attention, computed once per encoder output. */
export interface CrossKV { k: Tensor; v: Tensor }

/**
 * Decoder state for generation: per layer, self-attention keys/values for positions
 * [0, length) (written once each, like KVCache) and the cross-attention keys/values of the
 * encoder output they were computed from. Inference only: nothing in it carries a gradient.
 */
export class T5DecoderCache {
  length = 0;
  readonly self: LayerKV[];
  cross: CrossKV[] | null = null;
  /** The encoder output `cross` belongs to; another one makes the decoder recompute it. */
  source: Tensor | null = null;
  constructor(readonly nLayer: number, readonly B: number, readonly NH: number, readonly Tmax: number, readonly dKv: number) {
    this.self = Array.from({ length: nLayer }, () => new LayerKV(B, NH, Tmax, dKv));
  }
  /** Frees the cross-attention keys/values (a new encoder output is coming). */
  clearCross(): void {
    this.cross?.forEach((c) => { c.k.dispose(); c.v.dispose(); });
    this.cross = null;
    this.source = null;
  }
  dispose(): void {
    this.self.forEach((l) => l.dispose());
    this.clearCross();
  }
}

export interface T5AttentionForwardOpts {
  /** Cross-attention: the encoder output (B, Ts, C) to take keys and values from. */
  source?: Tensor;
  /** Precomputed keys/values (cross-attention with a cache); overrides source. */
  kv?: CrossKV;
  /** Additive score bias (1, NH, Tq, Tk): the stack's relative positions. */
  bias?: Tensor | null;
  /** (B, Tk) float32 1/0 over the keys. */
  keyPaddingMask?: Tensor | null;
  causal?: boolean;
  /** Self-attention cache: new keys/values go at rows [past, past + T). */
  cache?: LayerKV;
  past?: number;
}

export class T5Attention extends Module {
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  /** (numBuckets, NH); only in the first layer of a stack, whose bias every layer reuses. */
  rel_bias: Embedding | null;
  drop: Dropout;
  readonly inner: number;
  private readonly relOpts: RelativeBiasOpts | null;

  constructor(readonly dim: number, readonly nHead: number, readonly dKv: number,
    opts: { dropout?: number; relativeBias?: RelativeBiasOpts | null } = {}) {
    super();
    this.inner = nHead * dKv;
    this.q = new Linear(dim, this.inner, { bias: false, std: (dim * dKv) ** -0.5 });
    this.k = new Linear(dim, this.inner, { bias: false, std: dim ** -0.5 });
    this.v = new Linear(dim, this.inner, { bias: false, std: dim ** -0.5 });
    this.o = new Linear(this.inner, dim, { bias: false, std: this.inner ** -0.5 });
    const rb = opts.relativeBias ?? null;
    this.rel_bias = rb ? new Embedding(rb.numBuckets, nHead, { std: dim ** -0.5 }) : null;
    this.relOpts = rb;
    this.drop = new Dropout(opts.dropout ?? 0);
  }

  /**
   * The position bias (1, NH, Tq, Tk) for queries at positions qStart .. qStart+Tq-1 and keys
   * at 0 .. Tk-1: a gather of bucket rows, so the bucket table gets its gradient.
   */
  positionBias(qStart: number, Tq: number, Tk: number): Tensor {
    if (!this.rel_bias || !this.relOpts) throw new ArgumentError('T5Attention.positionBias: this layer has no relative position table');
    const { bidirectional, numBuckets, maxDistance } = this.relOpts;
    const idx = new Int32Array(Tq * Tk);
    for (let i = 0; i < Tq; i++)
      for (let j = 0; j < Tk; j++) idx[i * Tk + j] = relativePositionBucket(j - (qStart + i), bidirectional, numBuckets, maxDistance);
    const rows = gather(this.rel_bias.weight, tensor(idx, [Tq * Tk], 'int32', this.rel_bias.weight.device), 0); // (Tq*Tk, NH)
    const heads = permute(reshape(rows, [Tq, Tk, this.nHead]), [2, 0, 1]); // (NH, Tq, Tk)
    return reshape(heads, [1, this.nHead, Tq, Tk]);
  }

  /** (B, T, C) -> (B, NH, T, d_kv) through one projection. */
  private heads(l: Linear, x: Tensor): Tensor {
    const [B, T] = x.shape;
    return permute(reshape(l.forward(x), [B, T, this.nHead, this.dKv]), [0, 2, 1, 3]);
  }

  /** Keys and values of a source sequence (B, Tk, C), each (B, NH, Tk, d_kv). */
  keysValues(src: Tensor): CrossKV {
    return { k: this.heads(this.k, src), v: this.heads(this.v, src) };
  }

  /** Cross-attention keys/values to keep in a cache: no graph, owned by the caller. */
  cachedKeysValues(src: Tensor): CrossKV {
    return noGrad(() => {
      const { k, v } = this.keysValues(src);
      return { k: keep(k), v: keep(v) };
    });
  }

  /** x (B, Tq, C) -> (B, Tq, C). */
  forward(x: Tensor, opts: T5AttentionForwardOpts = {}): Tensor {
    const [B, T] = x.shape;
    const q = this.heads(this.q, x);
    let { k, v } = opts.kv ?? this.keysValues(opts.source ?? x);
    if (opts.cache) {
      const past = opts.past ?? 0;
      addToSlice(opts.cache.k, k, 2, past);
      addToSlice(opts.cache.v, v, 2, past);
      k = slice(opts.cache.k, 2, 0, past + T);
      v = slice(opts.cache.v, 2, 0, past + T);
    }
    const y = attention(q, k, v, { causal: !!opts.causal, bias: opts.bias ?? null, keyPaddingMask: opts.keyPaddingMask ?? null, scale: 1 }); // (B, NH, Tq, d_kv)
    const merged = reshape(permute(y, [0, 2, 1, 3]), [B, T, this.inner]);
    return this.drop.forward(this.o.forward(merged));
  }
}

/** T5 v1.0 feed-forward: wo(dropout(relu(wi x))), no biases. */
export class T5FF extends Module {
  wi: Linear;
  wo: Linear;
  drop: Dropout;
  constructor(dim: number, dFF: number, dropout = 0) {
    super();
    this.wi = new Linear(dim, dFF, { bias: false, std: dim ** -0.5 });
    this.wo = new Linear(dFF, dim, { bias: false, std: dFF ** -0.5 });
    this.drop = new Dropout(dropout);
  }
  forward(x: Tensor): Tensor {
    return this.wo.forward(this.drop.forward(relu(this.wi.forward(x))));
  }
}
