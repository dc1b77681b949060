import { describe, expect, it } from 'vitest';
import { matmul, tensor, tidy, ShapeError, DTypeError, zeros } from '../../src/index.js';
import { randnArray } from '../helpers/rng.js';
import { matmulRef, maxRelErr } from '../helpers/reference.js';
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
            worst = Math.max(worst, maxRelErr(C.toArray(), matmulRef(a, b, batch, M, N, K, ta, tb, bShared)));
          }
        }
        console.log(`matmul ta=${ta} tb=${tb} max_rel_err ${worst.toExponential(2)}`);
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
