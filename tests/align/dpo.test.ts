// DPO and KTO on the built-in world: held-out preference accuracy rises from chance.
import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateWorld, worldCorpus, worldInstructions } from '../../src/pipeline/world.js';
import { worldPreferences, pairsToFeedback, instructionPreferences } from '../../src/pipeline/preferences.js';
import { GPT } from '../../src/models/gpt.js';
import { ArgumentError } from '../../src/errors.js';
import { runPretrain } from '../../src/train/pretrain.js';
import { runDpo, runKto } from '../../src/train/dpo.js';
import { memory } from '../../src/index.js';
import { topMlpPattern } from '../../src/train/session.js';

const world = generateWorld(3, 12);
const prefs = worldPreferences(world, { perFact: 2 });
let base = '';

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'lmt-dpo-'));
  const corpus = join(dir, 'c.txt');
  writeFileSync(corpus, worldCorpus(world, { documents: 1500, chinese: false }).join('\n\n'));
  base = join(dir, 'base');
  runPretrain({ model: 'gpt', data: [corpus], outDir: base, vocabSize: 400, seqLen: 64, batchSize: 8,
    modelConfig: { n_embd: 64, n_head: 4, n_layer: 2, dropout: 0 }, trainer: { steps: 400, lr: 5e-3, warmupSteps: 10 }, progress: false });
}, 120_000);

describe('DPO', () => {
  it('raises held-out preference accuracy from chance to >= 75% (sigmoid loss, small version)', () => {
    const before = memory().numBytes;
    const r = runDpo({ init: base, pairs: prefs.train, evalPairs: prefs.heldOut, loss: 'sigmoid', beta: 0.1, batchSize: 8, seed: 1,
      trainer: { steps: 40, lr: 3e-4, warmupSteps: 5, clipNorm: 1 }, progress: false });
    console.log(`dpo sigmoid: held-out accuracy ${r.before.accuracy.toFixed(3)} -> ${r.after.accuracy.toFixed(3)}, margin ${r.after.margin.toFixed(3)}`);
    expect(r.before.accuracy).toBe(0.5);
    expect(r.after.accuracy).toBeGreaterThanOrEqual(0.75);
    expect(r.after.rewardsChosen).toBeGreaterThan(r.after.rewardsRejected);
    expect(memory().numBytes).toBe(before);
  }, 120_000);
  it('KTO on the same data as thumbs-up/down also improves held-out accuracy', () => {
    const r = runKto({ init: base, feedback: pairsToFeedback(prefs.train), evalPairs: prefs.heldOut, beta: 0.1, batchSize: 8, seed: 1,
      trainer: { steps: 60, lr: 1e-3, warmupSteps: 5 }, progress: false });
    console.log(`kto: held-out accuracy ${r.before.accuracy.toFixed(3)} -> ${r.after.accuracy.toFixed(3)}`);
    expect(r.after.accuracy).toBeGreaterThan(r.before.accuracy + 0.2);
  }, 120_000);
});

describe('instruction preference pairs', () => {
  const w = generateWorld(5, 16);
  const { train } = worldInstructions(w);
  const valueOf = (q: (typeof train)[number], text: string): string | null => {
    const at = q.response.lastIndexOf(q.answer), head = q.response.slice(0, at), tail = q.response.slice(at + q.answer.length);
    return text.startsWith(head) && text.endsWith(tail) ? text.slice(head.length, text.length - tail.length) : null;
  };
  it("'balanced' rejects each value at most as often as it is chosen, and only values answered in the set", () => {
    const per = 4;
    const pairs = instructionPreferences(w, train, { perQuestion: per, negatives: 'balanced', seed: 3 });
    expect(pairs).toHaveLength(train.length * per);
    const chosen = new Map<string, number>(), rejected = new Map<string, number>();
    let wrong = 0;
    pairs.forEach((p, i) => {
      const q = train[Math.floor(i / per)];
      expect(p.prompt).toBe(q.instruction);
      expect(p.chosen).toBe(q.response);
      const k = (v: string) => `${q.fact}|${q.lang}|${v}`;
      chosen.set(k(q.answer), (chosen.get(k(q.answer)) ?? 0) + 1);
      const v = valueOf(q, p.rejected);
      if (v === null) return; // an evasive reply
      wrong++;
      expect(v).not.toBe(q.answer);
      rejected.set(k(v), (rejected.get(k(v)) ?? 0) + 1);
    });
    for (const [k, n] of rejected) expect(n).toBeLessThanOrEqual(chosen.get(k) ?? 0);
    expect(wrong / pairs.length).toBeGreaterThan(0.6); // about 70% wrong values, 30% evasive
  });
  it("'uniform' (the default) draws any other country's value; bad perQuestion is an ArgumentError", () => {
    const pairs = instructionPreferences(w, train.slice(0, 40), { seed: 3 });
    expect(pairs).toHaveLength(40);
    pairs.forEach((p, i) => expect(p.rejected).not.toBe(train[i].response));
    expect(() => instructionPreferences(w, train, { perQuestion: 0 })).toThrow(ArgumentError);
  });
});

describe('trainable: preference training on part of the model', () => {
  it("'top-mlp' changes only the top block's norms and MLP and ln_f; everything else keeps its value", () => {
    const out = join(mkdtempSync(join(tmpdir(), 'lmt-dpo-tr-')), 'dpo');
    runDpo({ init: base, pairs: prefs.train, loss: 'sigmoid', beta: 1, batchSize: 8, seed: 1, trainable: 'top-mlp', outDir: out,
      trainer: { steps: 5, lr: 1e-3, warmupSteps: 1 }, progress: false });
    const a = GPT.fromCheckpoint(base), b = GPT.fromCheckpoint(out);
    try {
      const re = new RegExp(topMlpPattern(a.config.n_layer));
      expect(re.source).toBe('^(blocks\\.1\\.(ln1|ln2|mlp)\\.|ln_f\\.)');
      const bp = new Map(b.namedParameters());
      let changed = 0, kept = 0;
      for (const [name, p] of a.namedParameters()) {
        const same = p.toArray().every((x, i) => x === bp.get(name)!.toArray()[i]);
        if (re.test(name)) changed += same ? 0 : 1;
        else { expect(same, name).toBe(true); kept++; }
      }
      expect(changed).toBeGreaterThan(4);
      expect(kept).toBeGreaterThan(10);
    } finally {
      a.dispose();
      b.dispose();
    }
  }, 60_000);
  it('a pattern that matches nothing, or is not a RegExp, is an ArgumentError before training', () => {
    const before = memory().numBytes;
    const go = (trainable: string) => () => runDpo({ init: base, pairs: prefs.train, loss: 'sigmoid', beta: 1, batchSize: 8, seed: 1, trainable, trainer: { steps: 1 }, progress: false });
    expect(go('^nothing_here')).toThrow(/matches no parameter \(names look like wte\.weight/);
    expect(go('blocks.(')).toThrow(ArgumentError);
    expect(() => runKto({ init: base, feedback: pairsToFeedback(prefs.train), beta: 1, batchSize: 8, seed: 1, trainable: '[', trainer: { steps: 1 }, progress: false })).toThrow(/kto: --trainable is not a valid regular expression/);
    expect(memory().numBytes).toBe(before); // the policy and reference were freed
  });
});
