/**
 * Reward sources for RL (PPO, GRPO): a function from prompts and completions to one scalar
 * per completion. Two are built in: a programmatic check of world facts, and a trained reward
 * model (src/train/reward.ts).
 */
import { ArgumentError } from '../errors.js';
import { FACT_KINDS, worldInstructions, type Country, type FactKind, type World } from '../pipeline/world.js';
import { RewardModel } from './reward.js';

export type RewardFn = (prompts: readonly string[], completions: readonly string[]) => Float32Array | number[];

/** Checks the length and finiteness of a reward source's output. */
export function scoreWith(fn: RewardFn, prompts: readonly string[], completions: readonly string[]): Float32Array {
  if (prompts.length !== completions.length) throw new ArgumentError(`reward: ${prompts.length} prompts but ${completions.length} completions`);
  const r = Float32Array.from(fn(prompts, completions));
  if (r.length !== prompts.length) throw new ArgumentError(`reward: the reward function returned ${r.length} scores for ${prompts.length} completions`);
  r.forEach((x, i) => { if (!Number.isFinite(x)) throw new ArgumentError(`reward: score ${i} is ${x}`); });
  return r;
}

const norm = (s: string): string => s.replace(/\s+/g, ' ').trim().toLowerCase();
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/**
 * Whole-word match for Latin words; numbers match between non-digits (so "13" is found in
 * "大约有13百万" but not in "113"); plain substring for Chinese.
 */
function mentions(text: string, value: string): boolean {
  if (/^[\p{Script=Han}]/u.test(value)) return text.includes(value);
  if (/^\d+$/.test(value)) return new RegExp(`(^|\\D)${value}($|\\D)`, 'u').test(text);
  return new RegExp(`(^|[^\\p{L}\\p{N}])${escape(norm(value))}($|[^\\p{L}\\p{N}])`, 'u').test(text);
}
const valuesOf = (c: Country, f: FactKind): string[] => (f === 'population' ? [String(c.population)] : [c[f].en, c[f].zh]);

/**
 * Exact-answer reward for questions about the world's facts (every phrasing of
 * worldInstructions and worldPreferences, English and Chinese): 1 when the completion names the
 * country asked about and states the correct value and no other country's value of the same
 * kind, 0.5 when the country is not named, 0.25 when the correct value comes among wrong ones
 * (hedging), 0 otherwise. An unknown prompt is an error, not a
 * silent 0.
 */
export function exactAnswerReward(world: World): RewardFn {
  const all = worldInstructions(world, { heldOutFraction: 0, chinese: true, kinds: FACT_KINDS }).train;
  const byName = new Map(world.countries.map((c) => [c.name.en, c]));
  const questions = new Map<string, { right: string[]; wrong: string[]; names: string[] }>();
  for (const q of all) {
    const c = byName.get(q.country)!;
    const right = valuesOf(c, q.fact);
    const wrong = world.countries.filter((o) => o !== c).flatMap((o) => valuesOf(o, q.fact)).filter((v) => !right.includes(v));
    questions.set(norm(q.instruction), { right, wrong, names: [c.name.en, c.name.zh] });
  }
  return (prompts, completions) => prompts.map((p, i) => {
    const q = questions.get(norm(p));
    if (!q) throw new ArgumentError(`exactAnswerReward: prompt ${JSON.stringify(p)} is not a question about this world`);
    const text = norm(completions[i]);
    if (!q.right.some((v) => mentions(text, v))) return 0;
    // Wrong values are looked for outside the asked country's own name, which can contain
    // another country's value as a substring ("达米亚" holds "米亚").
    const rest = q.names.reduce((t, n) => t.split(norm(n)).join(' '), text);
    if (q.wrong.some((v) => mentions(rest, v))) return 0.25;
    // The right value about the wrong country ("The leader of Y is <X's leader>") is half right.
    return q.names.some((n) => mentions(text, n)) ? 1 : 0.5;
  });
}

/** A trained reward model (`lmtrain reward`) as a reward source: its scalar score per completion. */
export function rewardModelFn(dir: string): RewardFn & { dispose(): void } {
  const rm = RewardModel.fromCheckpoint(dir);
  const fn = (prompts: readonly string[], completions: readonly string[]) => rm.score(prompts, completions);
  return Object.assign(fn, { dispose: () => rm.dispose() });
}
