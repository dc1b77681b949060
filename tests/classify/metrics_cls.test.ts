// Metrics against hand-computed values, the pseudo-label selection, span decoding and the
// data readers' errors.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accuracy, confusionMatrix, macroF1, perClassF1, normalizeAnswer, exactMatch, tokenF1, qaMetrics, answerTokens } from '../../src/train/metrics_cls.js';
import { selectPseudoLabels } from '../../src/train/self_train.js';
import { bestSpan } from '../../src/train/qa.js';
import { labelSubset } from '../../src/train/label_efficiency.js';
import { readClassificationJsonl, readQaJsonl, labelMap } from '../../src/data/cls.js';
import { sentimentTask, worldQaTask } from '../../src/pipeline/tasks.js';
import { DataError } from '../../src/index.js';

describe('classification metrics', () => {
  // gold 0 0 1 1 2 2 / pred 0 1 1 1 2 0
  const gold = [0, 0, 1, 1, 2, 2], pred = [0, 1, 1, 1, 2, 0];
  it('accuracy and confusion matrix (rows gold, columns predicted)', () => {
    expect(accuracy(gold, pred)).toBeCloseTo(4 / 6, 12);
    expect(confusionMatrix(gold, pred, 3)).toEqual([[1, 1, 0], [0, 2, 0], [1, 0, 1]]);
  });
  it('macro-F1: class 0: 2*1/(2+2) = 0.5, class 1: 2*2/(3+2) = 0.8, class 2: 2*1/(1+2) = 2/3', () => {
    expect(perClassF1(confusionMatrix(gold, pred, 3))).toEqual([0.5, 0.8, 2 / 3]);
    expect(macroF1(gold, pred, 3)).toBeCloseTo((0.5 + 0.8 + 2 / 3) / 3, 12);
    // A class absent from gold and pred is not averaged in.
    expect(macroF1(gold, pred, 4)).toBeCloseTo((0.5 + 0.8 + 2 / 3) / 3, 12);
    // A class predicted but never gold counts with F1 0.
    expect(macroF1([0, 0], [0, 1], 2)).toBeCloseTo((2 / 3 + 0) / 2, 12);
  });
  it('rejects mismatched lengths and labels out of range', () => {
    expect(() => accuracy([0], [0, 1])).toThrow(/gold has 1 labels and pred 2/);
    expect(() => confusionMatrix([0, 3], [0, 0], 3)).toThrow(/outside \[0, 3\)/);
  });
});

describe('QA metrics (SQuAD normalisation)', () => {
  it('normalises case, punctuation, articles and spaces', () => {
    expect(normalizeAnswer('The  Capital, Veloria!')).toBe('capital veloria');
    expect(normalizeAnswer('维洛里亚。')).toBe('维洛里亚');
    expect(answerTokens('维洛 city')).toEqual(['维', '洛', 'city']);
  });
  it('exact match and token F1', () => {
    expect(exactMatch('the Veloria.', 'Veloria')).toBe(1);
    expect(exactMatch('Veloria city', 'Veloria')).toBe(0);
    expect(tokenF1('Veloria city', 'Veloria')).toBeCloseTo(2 / 3, 12); // P 1/2, R 1
    expect(tokenF1('x b c', 'b c d e')).toBeCloseTo((2 * (2 / 3) * (2 / 4)) / (2 / 3 + 2 / 4), 12); // P 2/3, R 2/4
    expect(tokenF1('a b c', 'b c d e')).toBeCloseTo(2 / 3, 12); // the article goes: P 2/2, R 2/4
    expect(tokenF1('维洛里亚', '维洛')).toBeCloseTo(2 / 3, 12); // characters: P 2/4, R 2/2
    expect(tokenF1('x', 'y')).toBe(0);
    expect(qaMetrics(['Veloria', 'x y'], ['veloria', 'y'])).toEqual({ exactMatch: 0.5, f1: (1 + 2 / 3) / 2 });
  });
});

describe('pseudo-labels and spans', () => {
  const probs = [[0.95, 0.05], [0.2, 0.8], [0.03, 0.97], [0.99, 0.01], [0.1, 0.9]];
  it('keeps predictions above the threshold, optionally balanced per class', () => {
    expect(selectPseudoLabels(probs, 0.9, false).map((x) => [x.index, x.label])).toEqual([[0, 0], [2, 1], [3, 0], [4, 1]]);
    // threshold 0.92: class 0 has {0, 3}, class 1 has {2}; balanced keeps the most confident one of each.
    expect(selectPseudoLabels(probs, 0.92, true).map((x) => [x.index, x.label])).toEqual([[2, 1], [3, 0]]);
  });
  it('best span: start <= end, inside the allowed tokens, at most maxTokens long', () => {
    expect(bestSpan([9, 1, 5, 0], [9, 0, 1, 4], [0, 1, 1, 1], 3)).toEqual([2, 3]);
    expect(bestSpan([9, 1, 5, 0], [9, 0, 1, 4], [0, 1, 1, 1], 1)).toEqual([2, 2]);
  });
});

describe('supervised data', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmt-cls-data-'));
  it('reads string and integer labels; bad records name file and line', () => {
    const f = join(dir, 'c.jsonl');
    writeFileSync(f, '{"text":"a","label":2}\n\n{"text":"b","label":10}\n');
    const ex = readClassificationJsonl(f);
    expect(labelMap(ex)).toEqual(['2', '10']);
    writeFileSync(f, '{"text":"a","label":"pos"}\n{"text":"b","label":1.5}\n');
    expect(() => readClassificationJsonl(f)).toThrow(DataError);
    expect(() => readClassificationJsonl(f)).toThrow(`${f}:2: "label" must be a string or an integer`);
  });
  it('an extractive answer missing from its context is a DataError at file:line', () => {
    const f = join(dir, 'q.jsonl');
    writeFileSync(f, '{"question":"q","context":"The capital is Omta.","answer":"Omta"}\n{"question":"q","context":"No answer here.","answer":"Omta"}\n');
    expect(() => readQaJsonl(f, { extractive: true })).toThrow(`${f}:2: the answer "Omta" does not occur in its context`);
    expect(readQaJsonl(f)).toHaveLength(2); // generative QA may answer in its own words
  });
  it('built-in tasks are deterministic, bilingual and compositional; QA answers are spans', () => {
    const a = sentimentTask(4, { train: 300, dev: 5, test: 5, unlabeled: 20 }), b = sentimentTask(4, { train: 300, dev: 5, test: 5, unlabeled: 20 });
    expect(a).toEqual(b);
    const texts = a.train.map((e) => e.text);
    expect(texts.some((t) => /[\u4e00-\u9fff]/.test(t))).toBe(true);
    expect(texts.some((t) => t.includes(', but '))).toBe(true);
    expect(texts.some((t) => t.includes('，但是'))).toBe(true);
    expect(texts.some((t) => t.includes(' not '))).toBe(true);
    // The clause after "but" decides: "... but the X was great." with no negation there is positive.
    for (const e of a.train) {
      const m = /, but the \w+ was (not )?(great|terrible)\.$/.exec(e.text);
      if (m) expect(e.label).toBe((m[2] === 'great') !== !!m[1] ? 'positive' : 'negative');
    }
    const q = worldQaTask(2, { train: 50, dev: 5, test: 5 });
    for (const e of q.train) expect(e.context).toContain(e.answer);
    expect(labelSubset(a.train, 32, 1)).toEqual(labelSubset(a.train, 32, 1));
    expect(labelSubset(a.train, 32, 1)).toHaveLength(32);
  });
});
