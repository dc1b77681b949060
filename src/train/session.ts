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

export interface Session { tok: Tokenizer; policy: GPT; reference: GPT; maxLen: number }

export function withPolicyAndReference<T>(init: string, outDir: string | undefined, fn: (s: Session) => T): T {
  const lock = outDir ? (mkdirSync(outDir, { recursive: true }), acquireOutputLock(outDir)) : null;
  try {
    const tok = Tokenizer.loadSync(join(init, 'tokenizer.json'));
    const policy = GPT.fromCheckpoint(init);
    const reference = GPT.fromCheckpoint(init).eval();
    reference.parameters().forEach((p) => (p.requiresGrad = false));
    try {
      return fn({ tok, policy, reference, maxLen: policy.config.n_positions });
    } finally {
      policy.dispose();
      reference.dispose();
    }
  } finally {
    lock?.release();
  }
}

