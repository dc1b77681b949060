/**
 * Sequence log-probabilities of completions: sum over the labelled tokens of log p(token),
 * the quantity every preference and RL loss is built on. Prompt + completion are rendered with
 * the chat template so the labels cover exactly the completion (and its end token).
 */
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { ChatMLTemplate, encodeSegments, sftLabels, type ChatTemplate } from '../sft/chat_template.js';
import type { GPT } from '../models/gpt.js';
import type { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/creation.js';
import { crossEntropy } from '../ops/cross_entropy.js';
import { sum } from '../ops/reduce.js';
import { affine } from '../ops/elementwise.js';

export interface EncodedCompletion { ids: Int32Array; labels: Int32Array; length: number }

/** Prompt as a user turn, completion as the assistant's reply; truncated from the left to fit. */
export function encodeCompletion(tok: Tokenizer, prompt: string, completion: string, maxLen: number, template: ChatTemplate = new ChatMLTemplate()): EncodedCompletion {
  const enc = encodeSegments(tok, template.segments([{ role: 'user', content: prompt }, { role: 'assistant', content: completion }]));
  let ids = enc.ids, labels = sftLabels(enc);
  if (ids.length > maxLen) {
    ids = ids.subarray(ids.length - maxLen);
    labels = labels.subarray(labels.length - maxLen);
  }
  let length = 0;
  for (const l of labels) if (l !== -100) length++;
  return { ids, labels, length };
}

export interface CompletionBatch { ids: Int32Array; labels: Int32Array; B: number; T: number; lengths: Float32Array }

/** Right-pads completions into one batch (padding positions are unlabelled). */
export function batchCompletions(items: readonly EncodedCompletion[], padId: number): CompletionBatch {
  const B = items.length, T = Math.max(1, ...items.map((e) => e.ids.length));
  const ids = new Int32Array(B * T).fill(padId), labels = new Int32Array(B * T).fill(-100);
  items.forEach((e, b) => { ids.set(e.ids, b * T); labels.set(e.labels, b * T); });
  return { ids, labels, B, T, lengths: Float32Array.from(items, (e) => Math.max(1, e.length)) };
}

/** (B) summed log-probs of the labelled tokens (differentiable through the model). */
export function completionLogprobs(model: GPT, b: CompletionBatch): Tensor {
  const dev = model.device;
  const logits = model.forward(tensor(b.ids, [b.B, b.T], 'int32', dev));
  const nll = crossEntropy(logits, tensor(b.labels, [b.B, b.T], 'int32', dev), { reduction: 'none' }); // (B, T)
  return affine(sum(nll, { axis: 1 }), -1);
}

/**
 * A prompt and a completion given as token ids (a rollout: the sampled ids, not a re-encoding
 * of their text, which could tokenize differently); labels cover exactly the completion
 * tokens. Truncated from the left to fit maxLen.
 */
export function completionFromIds(promptIds: ArrayLike<number>, completionIds: ArrayLike<number>, maxLen: number): EncodedCompletion {
  let ids = Int32Array.from([...Array.from(promptIds), ...Array.from(completionIds)]);
  let labels = new Int32Array(ids.length).fill(-100);
  for (let t = promptIds.length - 1; t + 1 < ids.length; t++) if (t >= 0) labels[t] = ids[t + 1];
  if (ids.length > maxLen) {
    ids = ids.subarray(ids.length - maxLen);
    labels = labels.subarray(labels.length - maxLen);
  }
  let length = 0;
  for (const l of labels) if (l !== -100) length++;
  return { ids, labels, length };
}

/**
 * Per-token log-probs from logits (B, T, V): logp[b, t] = log p(labels[b, t] | ids[b, ..t]),
 * 0 where unlabelled, and the label mask (B, T) float 0/1 (constant). Differentiable in logits.
 */
export function tokenLogprobsFromLogits(logits: Tensor, b: CompletionBatch): { logp: Tensor; mask: Tensor } {
  const nll = crossEntropy(logits, tensor(b.labels, [b.B, b.T], 'int32', logits.device), { reduction: 'none' }); // (B, T)
  return { logp: affine(nll, -1), mask: tensor(Float32Array.from(b.labels, (l) => (l === -100 ? 0 : 1)), [b.B, b.T], 'float32', logits.device) };
}

/** (B, T) per-token log-probs of the labelled tokens and their mask (RL: PPO, GRPO). */
export function tokenLogprobs(model: GPT, b: CompletionBatch): { logp: Tensor; mask: Tensor } {
  return tokenLogprobsFromLogits(model.forward(tensor(b.ids, [b.B, b.T], 'int32', model.device)), b);
}
