/** Embedding lookup: weight (V, C) rows at int32 ids (any shape) -> (...ids.shape, C). */
import { native } from '../native/binding.js';
import { record, registerOp } from '../autograd/graph.js';
import { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import { IndexError, ShapeError } from '../errors.js';
import { assertFloat, assertInt, empty } from './util.js';

registerOp('embedding');

export function embedding(ids: Tensor, weight: Tensor): Tensor {
  assertInt(ids, 'embedding', 'ids');
  assertFloat(weight, 'embedding', 'weight');
  if (weight.ndim !== 2) throw new ShapeError(`embedding: weight must be (V, C), got ${shapeStr(weight.shape)}`);
  const [V, C] = weight.shape;
  const N = ids.size;
  const out = empty(weight.device, [...ids.shape, C]);
  try {
    native.embeddingForward(out.h, ids.h, weight.h, N, V, C);
  } catch (e) {
    out.dispose();
    if (e instanceof IndexError) throw new IndexError(`embedding: ${e.message} (vocabulary size ${V})`);
    throw e;
  }
  record('embedding', [weight], [out], [ids], ([g]) => {
    const dw = empty(weight.device, weight.shape);
    native.embeddingBackward(dw.h, g!.h, ids.h, N, V, C);
    return [dw];
  });
  return out;
}
