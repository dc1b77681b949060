/** Held-out language-model loss of a token sequence, shared by `lmtrain eval` and the demo. */
import type { GPT } from '../models/gpt.js';
import { crossEntropy } from '../ops/cross_entropy.js';
import { tensor } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import { noGrad } from '../autograd/graph.js';

/** Summed next-token NLL over `ids`, in consecutive windows of at most T predictions (no gradient). */
export function sequenceNll(model: GPT, ids: readonly number[], T: number): { nll: number; tokens: number } {
  let nll = 0, tokens = 0;
  noGrad(() => {
    for (let at = 0; at + 1 < ids.length; at += T) {
      const w = ids.slice(at, at + T + 1);
      const L = w.length - 1;
      nll += tidy(() => crossEntropy(model.forward(tensor(Int32Array.from(w.slice(0, L)), [1, L], 'int32', model.device)), tensor(Int32Array.from(w.slice(1)), [1, L], 'int32', model.device), { reduction: 'sum' }).item());
      tokens += L;
    }
  });
  return { nll, tokens };
}
