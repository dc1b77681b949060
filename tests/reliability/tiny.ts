/** A tiny GPT training task with a deterministic synthetic data stream, for fault tests. */
import { GPT } from '../../src/models/gpt.js';
import { tensor } from '../../src/tensor/creation.js';
import { affine, log } from '../../src/ops/elementwise.js';
import type { TrainTask } from '../../src/train/trainer.js';

export const TINY_GPT = { vocab_size: 16, n_positions: 8, n_layer: 1, n_head: 2, n_embd: 8, dropout: 0 };
type Batch = { ids: Int32Array; labels: Int32Array };

/**
 * Batches are a pure function of a counter (the data cursor), so a resumed run sees the
 * same batches. `badAt`: the loss of the micro-batch with this cursor is NaN (or -Infinity with badValue -Infinity).
 */
export function tinyTask(opts: { badAt?: number; badValue?: number } = {}): TrainTask<Batch> & { model: GPT } {
  const model = new GPT({ ...TINY_GPT });
  let cursor = 0;
  const B = 2, T = 6;
  return {
    model,
    nextBatch() {
      const ids = new Int32Array(B * T), labels = new Int32Array(B * T);
      for (let i = 0; i < B * T; i++) {
        ids[i] = (cursor * 7 + i * 3) % 16;
        labels[i] = (ids[i] * 5 + 1) % 16;
      }
      return Object.assign({ ids, labels }, { at: cursor++ });
    },
    loss(b) {
      const l = model.loss(tensor(b.ids, [B, T]), tensor(b.labels, [B, T]));
      const at = (b as Batch & { at: number }).at;
      // log(0*l - 1) = NaN, log(0*l + 0) = -Inf: a loss that goes bad through the graph.
      return at === opts.badAt ? log(affine(l, 0, opts.badValue === -Infinity ? 0 : -1)) : l;
    },
    tokens: () => B * T,
    dataState: () => ({ cursor }),
    setDataState(s) {
      const c = (s as { cursor?: unknown })?.cursor;
      if (!Number.isSafeInteger(c)) throw new Error('bad data state');
      cursor = c as number;
    },
  };
}
