/**
 * Built-in feedback over the world's facts. Each question about a country has a chosen answer
 * (correct and complete) and a rejected one, wrong (another country's value) or sloppy
 * (evasive, or a bare fragment). Countries are split into train and held-out by a fixed rule,
 * so held-out pairs ask about facts the policy saw only in pretraining text.
 */
import { factValue, type Country, type World, type WorldInstruction } from './world.js';
import { ArgumentError } from '../errors.js';
import type { FeedbackExample, PreferencePair } from '../data/preferences.js';

type Attr = 'capital' | 'language' | 'currency' | 'leader';

const QUESTIONS: Record<Attr, (c: Country) => string> = {
  capital: (c) => `What is the capital of ${c.name.en}?`,
  language: (c) => `What language do people speak in ${c.name.en}?`,
  currency: (c) => `What is the currency of ${c.name.en}?`,
  leader: (c) => `Who leads ${c.name.en}?`,
};
const ANSWERS: Record<Attr, (c: Country, v: string) => string> = {
  capital: (c, v) => `The capital of ${c.name.en} is ${v}.`,
  language: (c, v) => `People in ${c.name.en} speak ${v}.`,
  currency: (c, v) => `The currency of ${c.name.en} is the ${v}.`,
  leader: (c, v) => `The leader of ${c.name.en} is ${v}.`,
};
const SLOPPY = ['I am not sure.', 'It is hard to say.', 'Nobody knows that.'];

/** Every fourth country is held out (its facts appear only in pretraining text). */
export function isHeldOutCountry(index: number): boolean {
  return index % 4 === 3;
}

function rng(seed: number): () => number {
  let s = (seed >>> 0) || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

export interface WorldPreferences { train: PreferencePair[]; heldOut: PreferencePair[] }

/** `perFact` pairs per (country, attribute) with different rejected answers. */
export function worldPreferences(world: World, opts: { perFact?: number; seed?: number; attrs?: Attr[] } = {}): WorldPreferences {
  const r = rng(opts.seed ?? world.seed * 31 + 5);
  const attrs = opts.attrs ?? ['capital', 'language', 'currency', 'leader'];
  const out: WorldPreferences = { train: [], heldOut: [] };
  world.countries.forEach((c, i) => {
    for (const a of attrs) {
      const truth = c[a].en;
      const wrongs = [...new Set(world.countries.map((o) => o[a].en).filter((v) => v !== truth))];
      for (let k = 0; k < (opts.perFact ?? 2); k++) {
        const sloppy = r() < 0.3;
        const rejected = sloppy ? SLOPPY[Math.floor(r() * SLOPPY.length)] : ANSWERS[a](c, wrongs[Math.floor(r() * wrongs.length)]);
        const pair = { prompt: QUESTIONS[a](c), chosen: ANSWERS[a](c, truth), rejected };
        (isHeldOutCountry(i) ? out.heldOut : out.train).push(pair);
      }
    }
  });
  return out;
}

/** The same pairs as thumbs-up / thumbs-down feedback on single answers (for KTO). */
export function pairsToFeedback(pairs: readonly PreferencePair[]): FeedbackExample[] {
  return pairs.flatMap((p) => [
    { prompt: p.prompt, completion: p.chosen, label: true },
    { prompt: p.prompt, completion: p.rejected, label: false },
  ]);
}

const SLOPPY_ZH = ['我不确定。', '很难说。', '没人知道。'];

/** The response with its stated value swapped for `wrong` (the value follows the country name in every answer template). */
function swapValue(q: WorldInstruction, wrong: string): string {
  const at = q.response.lastIndexOf(q.answer);
  return q.response.slice(0, at) + wrong + q.response.slice(at + q.answer.length);
}

/**
 * Preference pairs over instruction questions (worldInstructions): chosen is the SFT answer,
 * rejected the same sentence with another country's value of the same kind, or (30%) an
 * evasive reply in the question's language. Built from a train/held-out split of the
 * questions, the pairs inherit it: held-out pairs ask exactly the held-out questions.
 */
export function instructionPreferences(world: World, questions: readonly WorldInstruction[], opts: { perQuestion?: number; seed?: number } = {}): PreferencePair[] {
  const r = rng(opts.seed ?? world.seed * 37 + 11);
  const byName = new Map(world.countries.map((c) => [c.name.en, c]));
  const out: PreferencePair[] = [];
  for (const q of questions) {
    const c = byName.get(q.country);
    if (!c) throw new ArgumentError(`instructionPreferences: country '${q.country}' is not in this world`);
    const wrongs = [...new Set(world.countries.map((o) => factValue(o, q.fact, q.lang)).filter((v) => v !== q.answer))];
    for (let k = 0; k < (opts.perQuestion ?? 1); k++) {
      const sloppy = wrongs.length === 0 || r() < 0.3;
      const pool = q.lang === 'zh' ? SLOPPY_ZH : SLOPPY;
      const rejected = sloppy ? pool[Math.floor(r() * pool.length)] : swapValue(q, wrongs[Math.floor(r() * wrongs.length)]);
      out.push({ prompt: q.instruction, chosen: q.response, rejected });
    }
  }
  return out;
}
