// The exact-answer reward on hand-made completions: the value asked for, about the country
// asked about, in English and Chinese, with the edge cases that used to mis-score.
import { describe, expect, it } from 'vitest';
import { generateWorld, worldInstructions, factValue, FACT_KINDS } from '../../src/pipeline/world.js';
import { exactAnswerReward, scoreWith } from '../../src/train/rewards.js';
import { ArgumentError } from '../../src/index.js';

const world = generateWorld(1, 24);
const reward = exactAnswerReward(world);
const qs = worldInstructions(world, { heldOutFraction: 0 }).train;
const score = (prompt: string, completion: string) => scoreWith(reward, [prompt], [completion])[0];

describe('exactAnswerReward', () => {
  it('scores right, half-right, hedged and wrong answers in both languages', () => {
    const [c, o] = world.countries;
    const cap = qs.find((q) => q.country === c.name.en && q.fact === 'capital' && q.lang === 'en')!;
    expect(score(cap.instruction, cap.response)).toBe(1);
    expect(score(cap.instruction, `The capital of ${o.name.en} is ${c.capital.en}.`)).toBe(0.5);
    expect(score(cap.instruction, `The capital of ${c.name.en} is ${c.capital.en} or ${o.capital.en}.`)).toBe(0.25);
    expect(score(cap.instruction, `The capital of ${c.name.en} is ${o.capital.en}.`)).toBe(0);
    expect(score(cap.instruction, 'I am not sure.')).toBe(0);
    const capZh = qs.find((q) => q.country === c.name.en && q.fact === 'capital' && q.lang === 'zh')!;
    expect(score(capZh.instruction, capZh.response)).toBe(1);
    expect(score(capZh.instruction, `${c.name.zh}的首都是${o.capital.zh}。`)).toBe(0);
  });

  it('finds numbers next to Chinese characters ("大约有13百万人口") but not inside other numbers', () => {
    for (const q of qs.filter((x) => x.fact === 'population')) expect(score(q.instruction, q.response), q.response).toBe(1);
    const q = qs.find((x) => x.fact === 'population' && x.lang === 'en')!;
    const c = world.countries.find((x) => x.name.en === q.country)!;
    expect(score(q.instruction, q.response.replace(String(c.population), `1${c.population}`))).toBe(0);
  });

  it('every reference answer of the world scores 1, even when a country name contains another value', () => {
    for (const q of qs) expect(score(q.instruction, q.response), `${q.instruction} -> ${q.response}`).toBe(1);
    // A world where some country's Chinese name holds another country's value as a substring.
    let found = false;
    for (let seed = 1; seed <= 60 && !found; seed++) {
      const w = generateWorld(seed, 24);
      const r = exactAnswerReward(w);
      for (const c of w.countries) for (const f of FACT_KINDS) {
        if (!w.countries.some((o) => o !== c && factValue(o, f, 'zh') !== factValue(c, f, 'zh') && c.name.zh.includes(factValue(o, f, 'zh')))) continue;
        const q = worldInstructions(w, { heldOutFraction: 0 }).train.find((x) => x.country === c.name.en && x.fact === f && x.lang === 'zh')!;
        expect(scoreWith(r, [q.instruction], [q.response])[0], q.response).toBe(1);
        found = true;
      }
    }
    expect(found).toBe(true);
  });

  it('rejects prompts that are not about the world', () => {
    expect(() => score('What is the capital of France?', 'Paris.')).toThrow(ArgumentError);
  });
});
