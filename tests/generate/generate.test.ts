import { describe, expect, it } from 'vitest';
import { GPT } from '../../src/models/gpt.js';
import { generate } from '../../src/generate/generate.js';
import { sampleToken, argmax } from '../../src/generate/sampling.js';
import { manualSeed, memory, ArgumentError } from '../../src/index.js';

describe('generate', () => {
  manualSeed(3);
  const m = new GPT({ vocab_size: 29, n_positions: 24, n_layer: 2, n_head: 2, n_embd: 16 });
  it('greedy output with the KV cache equals output without it', () => {
    const before = memory().numBytes;
    const a = generate(m, [1, 2, 3], { temperature: 0, maxNewTokens: 15 });
    const b = generate(m, [1, 2, 3], { temperature: 0, maxNewTokens: 15, useCache: false });
    expect(a).toHaveLength(15);
    expect(a).toEqual(b);
    expect(memory().numBytes).toBe(before);
  });
  it('sampling is reproducible by seed and matches between cache modes', () => {
    const a = generate(m, [4], { temperature: 1.3, topK: 5, topP: 0.9, seed: 11, maxNewTokens: 10 });
    const b = generate(m, [4], { temperature: 1.3, topK: 5, topP: 0.9, seed: 11, maxNewTokens: 10, useCache: false });
    expect(a).toEqual(b);
  });
  it('stops at a stop token and respects the context length', () => {
    const g = generate(m, [1, 2], { temperature: 0, maxNewTokens: 100 });
    expect(g.length).toBe(23); // 24 positions: the prompt's 2 plus 21 fed back, plus the last prediction
    expect(generate(m, [1, 2], { temperature: 0, maxNewTokens: 100, useCache: false })).toEqual(g);
    const first = g[0];
    expect(generate(m, [1, 2], { temperature: 0, maxNewTokens: 10, stopTokens: [first] })).toEqual([first]);
  });
  it('top-k 1 is greedy; top-p keeps the smallest nucleus', () => {
    const logits = [0.1, 2, -1, 1.9, 0];
    expect(sampleToken(logits, { topK: 1 }, 0.99)).toBe(argmax(logits));
    for (let i = 0; i < 20; i++) expect([1, 3]).toContain(sampleToken(logits, { topP: 0.8 }, i / 20));
    expect(() => generate(m, [], {})).toThrow(ArgumentError);
    expect(() => generate(m, [99], {})).toThrow(ArgumentError);
    expect(() => generate(m, [1], { topP: 0 })).toThrow(ArgumentError);
  });
});
