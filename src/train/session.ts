/**
 * A policy and a frozen reference loaded from one checkpoint, with the output folder locked:
 * the setting of every preference and RL trainer (DPO, KTO, PPO, GRPO). Everything is freed
 * and the lock released when fn returns or throws.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import { GPT } from '../models/gpt.js';
import { acquireOutputLock } from '../io/checkpoint.js';
import { ArgumentError } from '../errors.js';
import type { Module } from '../nn/module.js';
import type { Device } from '../tensor/tensor.js';

export interface Session { tok: Tokenizer; policy: GPT; reference: GPT; maxLen: number }

/**
 * Freezes every parameter of `model` whose name does not match `pattern` (a RegExp source,
 * tested against names such as "blocks.2.mlp.fc.weight"). Returns the names left trainable.
 * Restricting preference training to the top block's MLP is what made DPO's implicit reward
 * generalise to held-out facts in docs/ALIGNMENT.md: the lower layers, where the model keeps its
 * facts, cannot be rewritten pair by pair.
 */
export function restrictTrainable(model: Module, pattern: string, who: string): string[] {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (e) {
    throw new ArgumentError(`${who}: --trainable is not a valid regular expression: ${(e as Error).message}`);
  }
  const named = model.namedParameters();
  const kept = named.filter(([n]) => re.test(n)).map(([n]) => n);
  if (kept.length === 0)
    throw new ArgumentError(`${who}: --trainable /${pattern}/ matches no parameter (names look like ${named.slice(0, 3).map(([n]) => n).join(', ')})`);
  const keep = new Set(kept);
  for (const [n, p] of named) p.requiresGrad = keep.has(n);
  return kept;
}

/** `--trainable top-mlp`: the top block without its attention (ln1, ln2, the MLP) and ln_f; `prefix` for a GPT inside another module. */
export const topMlpPattern = (nLayer: number, prefix = ''): string => `^${prefix.replace(/\./g, '\\.')}(blocks\\.${nLayer - 1}\\.(ln1|ln2|mlp)\\.|ln_f\\.)`;

export function withPolicyAndReference<T>(init: string, outDir: string | undefined, fn: (s: Session) => T, opts: { trainable?: string; who?: string; device?: Device } = {}): T {
  const lock = outDir ? (mkdirSync(outDir, { recursive: true }), acquireOutputLock(outDir)) : null;
  try {
    const tok = Tokenizer.loadSync(join(init, 'tokenizer.json'));
    const policy = GPT.fromCheckpoint(init);
    const reference = GPT.fromCheckpoint(init).eval();
    reference.parameters().forEach((p) => (p.requiresGrad = false));
    try {
      policy.to(opts.device ?? 'cpu');
      reference.to(opts.device ?? 'cpu');
      if (opts.trainable !== undefined)
        restrictTrainable(policy, opts.trainable === 'top-mlp' ? topMlpPattern(policy.config.n_layer) : opts.trainable, opts.who ?? 'train');
      return fn({ tok, policy, reference, maxLen: policy.config.n_positions });
    } finally {
      policy.dispose();
      reference.dispose();
    }
  } finally {
    lock?.release();
  }
}

