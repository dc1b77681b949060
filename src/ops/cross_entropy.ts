/**
 * Fused cross-entropy from logits (..., V) and int32 targets (...): log-sum-exp per row,
 * no softmax tensor kept; optional label smoothing; rows whose target is ignoreIndex add
 * nothing and do not count in the mean.
 */
import { native } from '../native/binding.js';
import { record, registerOp } from '../autograd/graph.js';
import { Tensor } from '../tensor/tensor.js';
import { sameShape, shapeStr } from '../tensor/shape.js';
import { ArgumentError, IndexError, ShapeError } from '../errors.js';
import { assertFloat, assertInt, empty } from './util.js';
import { affine } from './elementwise.js';
import { sum } from './reduce.js';

registerOp('cross_entropy');

export interface CrossEntropyOpts {
  /** Targets equal to this are skipped (default -100, as PyTorch). */
  ignoreIndex?: number;
  /** Mass spread uniformly over the vocabulary, in [0, 1). */
  labelSmoothing?: number;
  /** 'mean' over non-ignored rows (default), 'sum', or 'none' (per-row losses). */
  reduction?: 'mean' | 'sum' | 'none';
}

export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOpts = {}): Tensor {
  assertFloat(logits, 'crossEntropy', 'logits');
  assertInt(targets, 'crossEntropy', 'targets');
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const smoothing = opts.labelSmoothing ?? 0;
  const reduction = opts.reduction ?? 'mean';
  if (!Number.isInteger(ignoreIndex)) throw new ArgumentError(`crossEntropy: ignoreIndex must be an integer, got ${ignoreIndex}`);
  if (!(smoothing >= 0 && smoothing < 1)) throw new ArgumentError(`crossEntropy: labelSmoothing must be in [0, 1), got ${smoothing}`);
  if (!['mean', 'sum', 'none'].includes(reduction)) throw new ArgumentError(`crossEntropy: reduction must be 'mean', 'sum' or 'none', got ${String(reduction)}`);
  if (logits.ndim < 1 || !sameShape(logits.shape.slice(0, -1), targets.shape))
    throw new ShapeError(`crossEntropy: logits ${shapeStr(logits.shape)} need targets of shape ${shapeStr(logits.shape.slice(0, -1))}, got ${shapeStr(targets.shape)}`);
  const V = logits.shape[logits.ndim - 1];
  const N = targets.size;
  const losses = empty(logits.device, targets.shape), lse = empty(logits.device, [N]);
  try {
    native.crossEntropyForward(losses.h, lse.h, logits.h, targets.h, N, V, ignoreIndex, smoothing);
  } catch (e) {
    losses.dispose();
    lse.dispose();
    if (e instanceof IndexError) throw new IndexError(`crossEntropy: ${e.message} (V = ${V}, ignoreIndex = ${ignoreIndex})`);
    throw e;
  }
  record('cross_entropy', [logits], [losses], [logits, lse, targets], ([g]) => {
    const dl = empty(logits.device, logits.shape);
    native.crossEntropyBackward(dl.h, g!.h, logits.h, lse.h, targets.h, N, V, ignoreIndex, smoothing);
    return [dl];
  });
  lse.dispose();
  if (reduction === 'none') return losses;
  const total = sum(losses);
  if (reduction === 'sum') return total;
  let count = 0;
  const t = targets.toArray();
  for (let i = 0; i < t.length; i++) if (t[i] !== ignoreIndex) count++;
  return affine(total, count > 0 ? 1 / count : 0);
}

/** Mean loss helper used when the caller already excluded padding: exp(loss) is perplexity. */
export function perplexity(meanLoss: number): number {
  return Math.exp(meanLoss);
}

