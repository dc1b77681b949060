/**
 * T5 (Raffel et al. 2020), v1.0: encoder-decoder over one shared token embedding;
 * pre-norm blocks with RMSNorm (T5's LayerNorm: no mean, no bias); bias-free attention of
 * inner width I = n_head * d_kv without 1/sqrt(d) scaling; learned relative position
 * buckets (bidirectional in the encoder, causal in the decoder), one table per stack in its
 * first layer, whose bias every layer of the stack adds; ReLU FFN; a final RMSNorm per
 * stack; the LM head tied to the embedding, its input scaled by n_embd^-0.5.
 * Initialisation as Mesh-TF: embedding N(0, 1), q N(0, (C d_kv)^-0.5), k and v N(0, C^-0.5),
 * o N(0, I^-0.5), wi N(0, C^-0.5), wo N(0, d_ff^-0.5), relative tables N(0, C^-0.5), norms 1.
 *
 * Parameter names (the keys of model.safetensors), Linear weights (out, in), F = d_ff,
 * NB = relative_attention_num_buckets:
 *   shared.weight (V,C)
 *   encoder.blocks.{i}.ln_attn.weight (C) · encoder.blocks.{i}.attn.{q,k,v}.weight (I,C)
 *   encoder.blocks.{i}.attn.o.weight (C,I) · encoder.blocks.0.attn.rel_bias.weight (NB,NH)
 *   encoder.blocks.{i}.ln_ff.weight (C) · encoder.blocks.{i}.ff.wi.weight (F,C) · ff.wo.weight (C,F)
 *   encoder.ln_f.weight (C)
 *   decoder.blocks.{i}.ln_self.weight · decoder.blocks.{i}.self_attn.{q,k,v,o}.weight
 *   decoder.blocks.0.self_attn.rel_bias.weight (NB,NH) · decoder.blocks.{i}.ln_cross.weight
 *   decoder.blocks.{i}.cross_attn.{q,k,v,o}.weight · decoder.blocks.{i}.ln_ff.weight
 *   decoder.blocks.{i}.ff.{wi,wo}.weight · decoder.ln_f.weight
 * Count: V C + L_enc (4 C I + 2 C F + 2 C) + L_dec (8 C I + 2 C F + 3 C) + 2 (NB NH + C).
 */
import { Module } from '../nn/module.js';
import { Dropout, Embedding, RMSNorm } from '../nn/layers.js';
import type { LayerKV } from '../nn/attention.js';
import { T5Attention, T5DecoderCache, T5FF, type CrossKV, type RelativeBiasOpts } from '../nn/t5_layers.js';
import { Tensor } from '../tensor/tensor.js';
import { add, scale } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { reshape } from '../ops/shape.js';
import { crossEntropy } from '../ops/cross_entropy.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { sameShape, shapeStr } from '../tensor/shape.js';
import { t5Config, type T5Config } from './config.js';

export { relativePositionBucket, T5DecoderCache } from '../nn/t5_layers.js';

function relOpts(c: T5Config, bidirectional: boolean): RelativeBiasOpts {
  return { bidirectional, numBuckets: c.relative_attention_num_buckets, maxDistance: c.relative_attention_max_distance };
}

export class T5EncoderBlock extends Module {
  ln_attn: RMSNorm;
  attn: T5Attention;
  ln_ff: RMSNorm;
  ff: T5FF;
  drop: Dropout;
  constructor(c: T5Config, first: boolean) {
    super();
    this.ln_attn = new RMSNorm(c.n_embd, c.layer_norm_epsilon);
    this.attn = new T5Attention(c.n_embd, c.n_head, c.d_kv, { dropout: c.dropout, relativeBias: first ? relOpts(c, true) : null });
    this.ln_ff = new RMSNorm(c.n_embd, c.layer_norm_epsilon);
    this.ff = new T5FF(c.n_embd, c.d_ff, c.dropout);
    this.drop = new Dropout(c.dropout);
  }
  forward(x: Tensor, bias: Tensor, mask: Tensor | null): Tensor {
    const h = add(x, this.attn.forward(this.ln_attn.forward(x), { bias, keyPaddingMask: mask }));
    return add(h, this.drop.forward(this.ff.forward(this.ln_ff.forward(h))));
  }
}

export interface T5DecoderBlockOpts {
  bias: Tensor;
  encoderMask: Tensor | null;
  cache?: LayerKV;
  past?: number;
  cross?: CrossKV;
}

export class T5DecoderBlock extends Module {
  ln_self: RMSNorm;
  self_attn: T5Attention;
  ln_cross: RMSNorm;
  cross_attn: T5Attention;
  ln_ff: RMSNorm;
  ff: T5FF;
  drop: Dropout;
  constructor(c: T5Config, first: boolean) {
    super();
    this.ln_self = new RMSNorm(c.n_embd, c.layer_norm_epsilon);
    this.self_attn = new T5Attention(c.n_embd, c.n_head, c.d_kv, { dropout: c.dropout, relativeBias: first ? relOpts(c, false) : null });
    this.ln_cross = new RMSNorm(c.n_embd, c.layer_norm_epsilon);
    // Cross-attention has no position bias: encoder and decoder positions are unrelated.
    this.cross_attn = new T5Attention(c.n_embd, c.n_head, c.d_kv, { dropout: c.dropout });
    this.ln_ff = new RMSNorm(c.n_embd, c.layer_norm_epsilon);
    this.ff = new T5FF(c.n_embd, c.d_ff, c.dropout);
    this.drop = new Dropout(c.dropout);
  }
  forward(x: Tensor, enc: Tensor, o: T5DecoderBlockOpts): Tensor {
    let h = add(x, this.self_attn.forward(this.ln_self.forward(x), { bias: o.bias, causal: true, cache: o.cache, past: o.past }));
    h = add(h, this.cross_attn.forward(this.ln_cross.forward(h), { source: enc, kv: o.cross, keyPaddingMask: o.encoderMask }));
    return add(h, this.drop.forward(this.ff.forward(this.ln_ff.forward(h))));
  }
}

export class T5Encoder extends Module {
  drop: Dropout;
  blocks: T5EncoderBlock[];
  ln_f: RMSNorm;
  constructor(c: T5Config) {
    super();
    this.drop = new Dropout(c.dropout);
    this.blocks = Array.from({ length: c.n_layer }, (_, i) => new T5EncoderBlock(c, i === 0));
    this.ln_f = new RMSNorm(c.n_embd, c.layer_norm_epsilon);
  }
  /** Embedded tokens (B, Ts, C) -> (B, Ts, C). */
  forward(x: Tensor, mask: Tensor | null): Tensor {
    const T = x.shape[1];
    const bias = this.blocks[0].attn.positionBias(0, T, T);
    let h = this.drop.forward(x);
    for (const b of this.blocks) h = b.forward(h, bias, mask);
    return this.drop.forward(this.ln_f.forward(h));
  }
}

export class T5Decoder extends Module {
  drop: Dropout;
  blocks: T5DecoderBlock[];
  ln_f: RMSNorm;
  constructor(c: T5Config) {
    super();
    this.drop = new Dropout(c.dropout);
    this.blocks = Array.from({ length: c.n_decoder_layer }, (_, i) => new T5DecoderBlock(c, i === 0));
    this.ln_f = new RMSNorm(c.n_embd, c.layer_norm_epsilon);
  }
  /** Embedded tokens (B, Tt, C) at positions past.. over the encoder output -> (B, Tt, C). */
  forward(x: Tensor, enc: Tensor, encoderMask: Tensor | null, cache?: T5DecoderCache): Tensor {
    const T = x.shape[1];
    const past = cache?.length ?? 0;
    const bias = this.blocks[0].self_attn.positionBias(past, T, past + T);
    let h = this.drop.forward(x);
    this.blocks.forEach((b, i) => {
      h = b.forward(h, enc, { bias, encoderMask, cache: cache?.self[i], past, cross: cache?.cross?.[i] });
    });
    return this.drop.forward(this.ln_f.forward(h));
  }
}

export interface T5EncodeOpts {
  /** (B, Ts) float32, 1 = real token, 0 = padding. */
  attentionMask?: Tensor | null;
}
export interface T5DecodeOpts {
  /** The encoder's attention mask (B, Ts): padded encoder positions get no cross-attention. */
  encoderMask?: Tensor | null;
  /** Continue from the positions held in the cache (generation). */
  cache?: T5DecoderCache;
}

function describeArg(t: unknown): string {
  return t instanceof Tensor ? `${t.dtype} ${shapeStr(t.shape)}` : typeof t;
}

function checkIds(ids: unknown, what: string): asserts ids is Tensor {
  if (!(ids instanceof Tensor) || ids.dtype !== 'int32' || ids.ndim !== 2)
    throw new ShapeError(`${what} must be an int32 tensor (B, T), got ${describeArg(ids)}`);
}

function checkMask(mask: Tensor | null, B: number, T: number, what: string): void {
  if (mask && (!(mask instanceof Tensor) || mask.dtype !== 'float32' || !sameShape(mask.shape, [B, T])))
    throw new ShapeError(`${what} must be float32 (${B}, ${T}) of 1/0, got ${describeArg(mask)}`);
}

export class T5 extends Module {
  readonly config: T5Config;
  shared: Embedding;
  encoder: T5Encoder;
  decoder: T5Decoder;

  constructor(config: Partial<T5Config> & { preset?: string } = {}) {
    super();
    this.config = t5Config(config);
    const c = this.config;
    this.shared = new Embedding(c.vocab_size, c.n_embd, { std: 1 });
    this.encoder = new T5Encoder(c);
    this.decoder = new T5Decoder(c);
  }

  /** inputIds (B, Ts) int32 -> encoder output (B, Ts, C). */
  encode(inputIds: Tensor, opts: T5EncodeOpts = {}): Tensor {
    checkIds(inputIds, 'T5.encode: inputIds');
    const [B, T] = inputIds.shape;
    const mask = opts.attentionMask ?? null;
    checkMask(mask, B, T, 'T5.encode: attentionMask');
    return this.encoder.forward(this.shared.forward(inputIds), mask);
  }

  /** decoderInputIds (B, Tt) int32 over encoderOut (B, Ts, C) -> logits (B, Tt, V). */
  decode(decoderInputIds: Tensor, encoderOut: Tensor, opts: T5DecodeOpts = {}): Tensor {
    checkIds(decoderInputIds, 'T5.decode: decoderInputIds');
    const [B, T] = decoderInputIds.shape;
    const c = this.config;
    if (!(encoderOut instanceof Tensor) || encoderOut.dtype !== 'float32' || encoderOut.ndim !== 3 || encoderOut.shape[0] !== B || encoderOut.shape[2] !== c.n_embd)
      throw new ShapeError(`T5.decode: encoderOut must be float32 (${B}, Ts, ${c.n_embd}), got ${describeArg(encoderOut)}`);
    const mask = opts.encoderMask ?? null;
    checkMask(mask, B, encoderOut.shape[1], 'T5.decode: encoderMask');
    const cache = opts.cache;
    if (cache) {
      if (cache.B !== B || cache.nLayer !== c.n_decoder_layer || cache.NH !== c.n_head || cache.dKv !== c.d_kv)
        throw new ArgumentError('T5.decode: the decoder cache was made for another batch size or model');
      if (cache.length + T > cache.Tmax)
        throw new ShapeError(`T5.decode: ${cache.length + T} positions exceed the cache length ${cache.Tmax}`);
      if (cache.source !== encoderOut) {
        // Self-attention entries written against another encoder output would be stale.
        if (cache.length > 0) throw new ArgumentError('T5.decode: the cache holds positions decoded over another encoder output; use a new cache');
        cache.clearCross();
        cache.cross = this.decoder.blocks.map((b) => b.cross_attn.cachedKeysValues(encoderOut));
        cache.source = encoderOut;
      }
    }
    const h = this.decoder.forward(this.shared.forward(decoderInputIds), encoderOut, mask, cache);
    if (cache) cache.length += T;
    // The tied head sees the embedding at N(0, 1): scaling by C^-0.5 keeps logits near unit scale.
    const scaled = scale(reshape(h, [B * T, c.n_embd]), c.n_embd ** -0.5);
    return reshape(matmul(scaled, this.shared.weight, { transB: true }), [B, T, c.vocab_size]);
  }

  /** Encoder and decoder in one pass (teacher forcing) -> logits (B, Tt, V). */
  forward(inputIds: Tensor, decoderInputIds: Tensor, opts: T5EncodeOpts = {}): Tensor {
    const enc = this.encode(inputIds, opts);
    return this.decode(decoderInputIds, enc, { encoderMask: opts.attentionMask ?? null });
  }

  /** Mean cross-entropy of labels (B, Tt) int32; -100 (or ignoreIndex) skips a position. */
  loss(inputIds: Tensor, decoderInputIds: Tensor, labels: Tensor, opts: T5EncodeOpts & { ignoreIndex?: number } = {}): Tensor {
    return crossEntropy(this.forward(inputIds, decoderInputIds, opts), labels, { ignoreIndex: opts.ignoreIndex ?? -100 });
  }

  /** A decoder cache for batch B and up to maxLength decoder positions. */
  newDecoderCache(B: number, maxLength: number): T5DecoderCache {
    for (const [k, v] of [['B', B], ['maxLength', maxLength]] as const)
      if (!Number.isInteger(v) || v <= 0) throw new ArgumentError(`T5.newDecoderCache: ${k} must be a positive integer, got ${v}`);
    const c = this.config;
    return new T5DecoderCache(c.n_decoder_layer, B, c.n_head, maxLength, c.d_kv);
  }
}
