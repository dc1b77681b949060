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

/** Fisher-Yates in place. */
function shuffle<T>(xs: T[], r: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/**
 * For every question a wrong value of the same kind and language, drawn so that each value is
 * rejected exactly as often as it is the right answer among `questions` (a shuffle of the answers
 * within each kind and language, reshuffled up to 50 times to avoid a question's own answer;
 * a question still left with its own answer gets undefined, and so an evasive reply).
 */
function balancedWrongs(questions: readonly WorldInstruction[], r: () => number): (string | undefined)[] {
  const groups = new Map<string, number[]>();
  questions.forEach((q, i) => {
    const key = `${q.fact}|${q.lang}`;
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  });
  const out: (string | undefined)[] = new Array(questions.length);
  for (const idx of groups.values()) {
    let vals = idx.map((i) => questions[i].answer);
    let best = vals.slice(), bestHits = Infinity;
    for (let tries = 0; tries < 50 && bestHits > 0; tries++) {
      vals = shuffle(vals, r);
      const hits = idx.filter((i, n) => vals[n] === questions[i].answer).length;
      if (hits < bestHits) { best = vals.slice(); bestHits = hits; }
    }
    idx.forEach((i, n) => (out[i] = best[n] === questions[i].answer ? undefined : best[n]));
  }
  return out;
}

export interface InstructionPreferenceOptions {
  /** Pairs per question, each with a freshly drawn rejected answer (1). */
  perQuestion?: number;
  seed?: number;
  /**
   * How wrong values are drawn. 'uniform' (default): any other country's value of the same kind,
   * each distinct value equally likely. 'balanced': from the answers of `questions` themselves,
   * each value rejected exactly as often as it is chosen, so that no value is pushed down
   * (or up) across the set as a whole and only "this value is wrong for this country" is left
   * to learn; it also keeps answers outside `questions` (held-out facts) out of the rejected
   * answers. Measured in docs/ALIGNMENT.md.
   */
  negatives?: 'uniform' | 'balanced';
}

/**
 * Preference pairs over instruction questions (worldInstructions): chosen is the SFT answer,
 * rejected the same sentence with another country's value of the same kind, or (30%) an
 * evasive reply in the question's language. Built from a train/held-out split of the
 * questions, the pairs inherit it: held-out pairs ask exactly the held-out questions.
 */
export function instructionPreferences(world: World, questions: readonly WorldInstruction[], opts: InstructionPreferenceOptions = {}): PreferencePair[] {
  const r = rng(opts.seed ?? world.seed * 37 + 11);
  const byName = new Map(world.countries.map((c) => [c.name.en, c]));
  const perQuestion = opts.perQuestion ?? 1;
  if (!Number.isInteger(perQuestion) || perQuestion < 1) throw new ArgumentError(`instructionPreferences: perQuestion must be a positive integer, got ${perQuestion}`);
  for (const q of questions)
    if (!byName.has(q.country)) throw new ArgumentError(`instructionPreferences: country '${q.country}' is not in this world`);
  const rounds = Array.from({ length: perQuestion }, () => (opts.negatives === 'balanced' ? balancedWrongs(questions, r) : null));
  const out: PreferencePair[] = [];
  questions.forEach((q, qi) => {
    const wrongs = [...new Set(world.countries.map((o) => factValue(o, q.fact, q.lang)).filter((v) => v !== q.answer))];
    for (let k = 0; k < perQuestion; k++) {
      const drawn = rounds[k]?.[qi];
      const sloppy = (rounds[k] ? drawn === undefined : wrongs.length === 0) || r() < 0.3;
      const pool = q.lang === 'zh' ? SLOPPY_ZH : SLOPPY;
      const rejected = sloppy ? pool[Math.floor(r() * pool.length)] : swapValue(q, drawn ?? wrongs[Math.floor(r() * wrongs.length)]);
      out.push({ prompt: q.instruction, chosen: q.response, rejected });
    }
  });
  return out;
}
