/**
 * Batched matrix multiply. a (..., M, K) @ b (..., K, N) -> (..., M, N); a 2-D b is shared by
 * every batch (as a weight). transA/transB read a or b transposed without a copy. Backward:
 * dA = dC op(B)^T, dB = op(A)^T dC, each a single native matmul call.
 */
import { native } from '../native/binding.js';
import { record, registerOp } from '../autograd/graph.js';
import { Tensor } from '../tensor/tensor.js';
import { shapeStr, sizeOf } from '../tensor/shape.js';
import { ShapeError } from '../errors.js';
import { assertFloat, assertSameDevice, empty } from './util.js';

registerOp('matmul');

export interface MatmulOpts { transA?: boolean; transB?: boolean }

interface Plan { batch: number; M: number; N: number; K: number; batchShape: number[]; bShared: boolean }

function plan(a: Tensor, b: Tensor, ta: boolean, tb: boolean): Plan {
  if (a.ndim < 2 || b.ndim < 2)
    throw new ShapeError(`matmul: a ${shapeStr(a.shape)} and b ${shapeStr(b.shape)} must have at least 2 dimensions`);
  const [ar, ac] = a.shape.slice(-2), [br, bc] = b.shape.slice(-2);
  const M = ta ? ac : ar, K = ta ? ar : ac;
  const Kb = tb ? bc : br, N = tb ? br : bc;
  if (K !== Kb)
    throw new ShapeError(`matmul: a is ${shapeStr(a.shape)}${ta ? '^T' : ''} and b is ${shapeStr(b.shape)}${tb ? '^T' : ''}; inner dimensions ${K} and ${Kb} differ`);
  const batchShape = a.shape.slice(0, -2);
  const bShared = b.ndim === 2;
  if (!bShared && (b.ndim !== a.ndim || b.shape.slice(0, -2).some((d, i) => d !== batchShape[i])))
    throw new ShapeError(`matmul: batch dimensions of a ${shapeStr(a.shape)} and b ${shapeStr(b.shape)} differ (b may also be 2-D)`);
  return { batch: sizeOf(batchShape), M, N, K, batchShape, bShared };
}

export function matmul(a: Tensor, b: Tensor, opts: MatmulOpts = {}): Tensor {
  assertFloat(a, 'matmul', 'a');
  assertFloat(b, 'matmul', 'b');
  assertSameDevice('matmul', a, b);
  const ta = !!opts.transA, tb = !!opts.transB;
  const p = plan(a, b, ta, tb);
  const { batch, M, N, K } = p;
  const out = empty(a.device, [...p.batchShape, M, N]);
  const lda = ta ? M : K, ldb = tb ? K : N;
  native.matmul(out.h, a.h, b.h, batch, M, N, K, ta, tb, lda, ldb, N, M * K, p.bShared ? 0 : K * N, M * N, 1, 0);
  record('matmul', [a, b], [out], [a, b], ([g]) => {
    let da: Tensor | null = null, db: Tensor | null = null;
    if (a.requiresGrad) {
      // dA (stored layout of a): if !ta: dC (M,N) @ op(B)^T ;  if ta: op(B) @ dC^T  (K,M)
      da = empty(a.device, a.shape);
      if (!ta) native.matmul(da.h, g!.h, b.h, batch, M, K, N, false, !tb, N, ldb, K, M * N, p.bShared ? 0 : K * N, M * K, 1, 0);
      else native.matmul(da.h, b.h, g!.h, batch, K, M, N, tb, true, ldb, N, M, p.bShared ? 0 : K * N, M * N, M * K, 1, 0);
    }
    if (b.requiresGrad) {
      db = empty(a.device, b.shape);
      if (p.bShared) {
        // Shared weight: fold the batch into the rows, one (K,N) product summed over it.
        const rows = batch * M;
        if (!ta) {
          if (!tb) native.matmul(db.h, a.h, g!.h, 1, K, N, rows, true, false, K, N, N, 0, 0, 0, 1, 0);
          else native.matmul(db.h, g!.h, a.h, 1, N, K, rows, true, false, N, K, K, 0, 0, 0, 1, 0);
        } else {
          // a is (batch, K, M): lay it out as (K, batch*M) so the batch sum is one product.
          const ap = empty(a.device, [K, rows]);
          native.copyStrided(ap.h, a.h, [K, batch, M], [M, K * M, 1], 0, 0);
          if (!tb) native.matmul(db.h, ap.h, g!.h, 1, K, N, rows, false, false, rows, N, N, 0, 0, 0, 1, 0);
          else native.matmul(db.h, g!.h, ap.h, 1, N, K, rows, true, true, N, rows, K, 0, 0, 0, 1, 0);
          ap.dispose();
        }
      } else if (!tb) {
        // dB = op(A)^T dC per batch: (K,N)
        native.matmul(db.h, a.h, g!.h, batch, K, N, M, !ta, false, lda, N, N, M * K, M * N, K * N, 1, 0);
      } else {
        // B stored (N,K): dB = dC^T op(A)
        native.matmul(db.h, g!.h, a.h, batch, N, K, M, true, ta, N, lda, K, M * N, M * K, K * N, 1, 0);
      }
    }
    return [da, db];
  });
  return out;
}

