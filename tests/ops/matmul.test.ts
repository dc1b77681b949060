import { describe, expect, it } from 'vitest';
import { matmul, tensor, tidy, ShapeError, DTypeError, zeros } from '../../src/index.js';
import { randnArray } from '../helpers/rng.js';
import { matmulRef, maxRelErr, maxScaledErr } from '../helpers/reference.js';
import { expectNoLeaks } from '../helpers/leaks.js';

describe('matmul', () => {
  const sizes = [1, 5, 17, 64, 67];
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    it(`matches the float64 reference, transA=${ta} transB=${tb}, batched and shared weights`, () => {
      expectNoLeaks(() => tidy(() => {
        let worst = 0;
        for (const M of sizes) for (const K of [1, 13, 66]) for (const N of [1, 7, 65]) {
          for (const [batch, bShared] of [[1, true], [3, false], [2, true]] as const) {
            const a = randnArray(batch * M * K), b = randnArray((bShared ? 1 : batch) * K * N);
            const A = tensor(a, batch === 1 && bShared ? (ta ? [K, M] : [M, K]) : ta ? [batch, K, M] : [batch, M, K]);
            const B = tensor(b, bShared ? (tb ? [N, K] : [K, N]) : tb ? [batch, N, K] : [batch, K, N]);
            const C = matmul(A, B, { transA: ta, transB: tb });
            const ref = matmulRef(a, b, batch, M, N, K, ta, tb, bShared);
            // Error relative to sum_k |a_ik b_kj|: a 1x1 output whose dot product cancels
            // (0.027 from terms summing to 54 in absolute value, seed 626573931) is still exact
            // to float32 accumulation, and max|ref| would call it a 1e-4 error.
            const scale = matmulRef(a.map(Math.abs), b.map(Math.abs), batch, M, N, K, ta, tb, bShared);
            worst = Math.max(worst, maxScaledErr(C.toArray(), ref, scale));
          }
        }
        console.log(`matmul ta=${ta} tb=${tb} max_scaled_err ${worst.toExponential(2)}`);
        expect(worst).toBeLessThan(1e-5);
      }));
    });
  }
  it('large K stays accurate', () => tidy(() => {
    const a = randnArray(9 * 2000), b = randnArray(2000 * 11);
    const C = matmul(tensor(a, [9, 2000]), tensor(b, [2000, 11]));
    expect(maxRelErr(C.toArray(), matmulRef(a, b, 1, 9, 11, 2000, false, false, true))).toBeLessThan(1e-5);
  }));
  it('names the mismatched dimensions', () => tidy(() => {
    expect(() => matmul(zeros([2, 3]), zeros([4, 5]))).toThrow(ShapeError);
    expect(() => matmul(zeros([2, 3]), zeros([4, 5]))).toThrow('inner dimensions 3 and 4 differ');
    expect(() => matmul(zeros([2, 3]), zeros([3, 5], 'int32'))).toThrow(DTypeError);
    expect(() => matmul(zeros([2, 2, 3]), zeros([3, 3, 5]))).toThrow(ShapeError);
  }));
});
