/**
 * Autoregressive generation for GPT: the prompt runs once through the model filling the
 * KV cache, then each new token costs one single-position forward. useCache: false recomputes
 * the whole sequence every step (the reference the cache is tested against). Generation ends
 * at maxNewTokens, a stop token, or when the context is full (prompt + output = n_positions + 1).
 */
import { ArgumentError } from '../errors.js';
import { noGrad } from '../autograd/graph.js';
import { tidy } from '../tensor/scope.js';
import { tensor } from '../tensor/creation.js';
import { slice } from '../ops/shape.js';
import type { GPT } from '../models/gpt.js';
import { checkSampling, sampleToken, seededUniform, type SamplingOpts } from './sampling.js';

export interface GenerateOpts extends SamplingOpts {
  maxNewTokens?: number;
  /** Generation stops after emitting any of these ids (the stop token is included). */
  stopTokens?: number[];
  useCache?: boolean;
  seed?: number;
}

export function generate(model: GPT, prompt: number[], opts: GenerateOpts = {}): number[] {
  checkSampling(opts);
  const maxNew = opts.maxNewTokens ?? 32;
  if (!Number.isInteger(maxNew) || maxNew < 0) throw new ArgumentError(`generate: maxNewTokens must be a non-negative integer, got ${maxNew}`);
  if (prompt.length === 0) throw new ArgumentError('generate: the prompt is empty (give at least one token, e.g. a BOS/EOS id)');
  const V = model.config.vocab_size, ctx = model.config.n_positions;
  for (const [i, t] of prompt.entries()) if (!Number.isInteger(t) || t < 0 || t >= V) throw new ArgumentError(`generate: prompt[${i}] = ${t} is outside [0, ${V})`);
  const stop = new Set(opts.stopTokens ?? []);
  const rand = seededUniform(opts.seed ?? 0);
  const useCache = opts.useCache ?? true;
  const wasTraining = model.training;
  model.eval();
  const out: number[] = [];
  try {
    noGrad(() => {
      if (useCache) {
        const limit = Math.min(ctx, prompt.length + maxNew);
        const p = prompt.slice(-Math.min(prompt.length, limit));
        const cache = model.newCache(1, limit);
        try {
          let next = nextFrom(model, p, { cache }, opts, rand);
          for (let i = 0; i < maxNew; i++) {
            out.push(next);
            if (stop.has(next) || cache.length >= limit) break;
            next = nextFrom(model, [next], { cache }, opts, rand);
          }
        } finally {
          cache.dispose();
        }
      } else {
        const seq = [...prompt];
        for (let i = 0; i < maxNew; i++) {
          const next = nextFrom(model, seq.slice(-ctx), {}, opts, rand);
          out.push(next);
          seq.push(next);
          // Same limit as the cached path: the last fed position is ctx - 1.
          if (stop.has(next) || seq.length > ctx) break;
        }
      }
    });
  } finally {
    model.train(wasTraining);
  }
  return out;
}

function nextFrom(model: GPT, ids: number[], fopts: Parameters<GPT['forward']>[1], s: SamplingOpts, rand: () => number): number {
  const row = tidy(() => {
    const logits = model.forward(tensor(Int32Array.from(ids), [1, ids.length], 'int32', model.device), fopts);
    return slice(logits, 1, ids.length - 1, ids.length).toArray();
  });
  return sampleToken(row, s, rand());
}
