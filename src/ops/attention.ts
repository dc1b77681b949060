/**
 * Fused scaled-dot-product attention: q (B,NH,Tq,HS), k/v (B,NH,Tk,HS) -> (B,NH,Tq,HS).
 * Options: causal (query i sees keys j <= i + Tk - Tq), an additive bias (1|B, NH, Tq, Tk)
 * that receives a gradient (T5's relative positions), a key padding mask (B, Tk) of 0/1
 * (1 = attend). The Tq x Tk matrix is never stored: the kernel keeps only the per-row
 * log-sum-exp for backward.
 */
import { native } from '../native/binding.js';
import { record, registerOp } from '../autograd/graph.js';
import { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import { ShapeError } from '../errors.js';
import { assertFinite, assertFloat, assertSameDevice, empty } from './util.js';

registerOp('attention');

export interface AttentionOpts {
  causal?: boolean;
  /** Additive score bias, (1 or B, NH, Tq, Tk). */
  bias?: Tensor | null;
  /** Key padding mask (B, Tk), float32: 1 = attend, 0 = padding. */
  keyPaddingMask?: Tensor | null;
  /** Default 1/sqrt(HS). */
  scale?: number;
}

export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOpts = {}): Tensor {
  assertFloat(q, 'attention', 'q');
  assertFloat(k, 'attention', 'k');
  assertFloat(v, 'attention', 'v');
  assertSameDevice('attention', q, k, v, opts.bias, opts.keyPaddingMask);
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4)
    throw new ShapeError(`attention: q, k, v must be (B, NH, T, HS); got ${shapeStr(q.shape)}, ${shapeStr(k.shape)}, ${shapeStr(v.shape)}`);
  const [B, NH, Tq, HS] = q.shape;
  const Tk = k.shape[2];
  if (k.shape[0] !== B || k.shape[1] !== NH || k.shape[3] !== HS || v.shape.some((d, i) => d !== k.shape[i]))
    throw new ShapeError(`attention: k ${shapeStr(k.shape)} and v ${shapeStr(v.shape)} must be (${B}, ${NH}, Tk, ${HS}) to match q ${shapeStr(q.shape)}`);
  const bias = opts.bias ?? null;
  let biasB = 1;
  if (bias) {
    assertFloat(bias, 'attention', 'bias');
    if (bias.ndim !== 4 || (bias.shape[0] !== 1 && bias.shape[0] !== B) || bias.shape[1] !== NH || bias.shape[2] !== Tq || bias.shape[3] !== Tk)
      throw new ShapeError(`attention: bias ${shapeStr(bias.shape)} must be (1 or ${B}, ${NH}, ${Tq}, ${Tk})`);
    biasB = bias.shape[0];
  }
  let keyMask: Tensor | null = null;
  if (opts.keyPaddingMask) {
    const m = opts.keyPaddingMask;
    assertFloat(m, 'attention', 'keyPaddingMask');
    if (m.ndim !== 2 || m.shape[0] !== B || m.shape[1] !== Tk)
      throw new ShapeError(`attention: keyPaddingMask ${shapeStr(m.shape)} must be (${B}, ${Tk})`);
    // 1/0 -> additive 0/-inf, made once here so the kernel only adds.
    const a = m.toArray();
    const add = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) add[i] = a[i] !== 0 ? 0 : -Infinity;
    keyMask = new Tensor(native.fromArray(add, q.device), [B, Tk], 'float32', q.device);
  }
  const scale = opts.scale ?? 1 / Math.sqrt(Math.max(HS, 1));
  assertFinite(scale, 'attention', 'scale');
  const causal = !!opts.causal;
  const out = empty(q.device, q.shape), lse = empty(q.device, [B, NH, Tq]);
  native.attentionForward(out.h, lse.h, q.h, k.h, v.h, bias ? bias.h : null, keyMask ? keyMask.h : null, B, NH, Tq, Tk, HS, biasB, causal, scale);
  const inputs = bias ? [q, k, v, bias] : [q, k, v];
  const saved = [q, k, v, out, lse, ...(bias ? [bias] : []), ...(keyMask ? [keyMask] : [])];
  record('attention', inputs, [out], saved, ([g]) => {
    const dq = empty(q.device, q.shape), dk = empty(q.device, k.shape), dv = empty(q.device, v.shape);
    const db = bias && bias.requiresGrad ? empty(q.device, bias.shape) : null;
    native.attentionBackward(dq.h, dk.h, dv.h, db ? db.h : null, g!.h, q.h, k.h, v.h, out.h, lse.h, bias ? bias.h : null,
      keyMask ? keyMask.h : null, B, NH, Tq, Tk, HS, biasB, causal, scale);
    return bias ? [dq, dk, dv, db] : [dq, dk, dv];
  });
  lse.dispose();
  keyMask?.dispose();
  return out;
}
