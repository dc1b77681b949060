/**
 * Metrics for supervised tasks, as pure functions of gold and predicted labels or strings.
 * Classification: accuracy, confusion matrix (rows gold, columns predicted), macro-F1.
 * QA: exact match and token F1 after SQuAD normalisation (lower case, no punctuation, no
 * English articles, single spaces). SQuAD splits tokens on whitespace only; Chinese has
 * none, so each CJK character counts as one token (as CMRC 2018's evaluation does).
 */
import { ArgumentError } from '../errors.js';

function checkPair(gold: readonly number[], pred: readonly number[], what: string): void {
  if (gold.length !== pred.length) throw new ArgumentError(`${what}: gold has ${gold.length} labels and pred ${pred.length}`);
}

export function accuracy(gold: readonly number[], pred: readonly number[]): number {
  checkPair(gold, pred, 'accuracy');
  if (gold.length === 0) return NaN;
  let ok = 0;
  for (let i = 0; i < gold.length; i++) if (gold[i] === pred[i]) ok++;
  return ok / gold.length;
}

/** m[g][p] = number of examples of gold class g predicted as p. */
export function confusionMatrix(gold: readonly number[], pred: readonly number[], numClasses: number): number[][] {
  checkPair(gold, pred, 'confusionMatrix');
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new ArgumentError(`confusionMatrix: numClasses must be a positive integer, got ${numClasses}`);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < gold.length; i++) {
    const g = gold[i], p = pred[i];
    if (!(Number.isInteger(g) && g >= 0 && g < numClasses && Number.isInteger(p) && p >= 0 && p < numClasses))
      throw new ArgumentError(`confusionMatrix: example ${i} has gold ${g} and pred ${p}, outside [0, ${numClasses})`);
    m[g][p]++;
  }
  return m;
}

/** Per-class F1 from a confusion matrix; 0 where precision + recall is 0. */
export function perClassF1(m: readonly (readonly number[])[]): number[] {
  const K = m.length;
  return m.map((row, k) => {
    const tp = row[k];
    const predicted = m.reduce((s, r) => s + r[k], 0);
    const actual = row.reduce((s, v) => s + v, 0);
    return predicted + actual === 0 ? 0 : (2 * tp) / (predicted + actual);
  }).slice(0, K);
}

/**
 * Unweighted mean of per-class F1 over the classes present in gold or pred (as scikit-learn
 * with its default labels): a class absent from both says nothing about the classifier.
 */
export function macroF1(gold: readonly number[], pred: readonly number[], numClasses: number): number {
  const m = confusionMatrix(gold, pred, numClasses);
  const f1 = perClassF1(m);
  const present = f1.filter((_, k) => m[k].some((v) => v > 0) || m.some((r) => r[k] > 0));
  return present.length === 0 ? NaN : present.reduce((s, v) => s + v, 0) / present.length;
}

export interface ClassificationMetrics { accuracy: number; macroF1: number; confusion: number[][] }

export function classificationMetrics(gold: readonly number[], pred: readonly number[], numClasses: number): ClassificationMetrics {
  return { accuracy: accuracy(gold, pred), macroF1: macroF1(gold, pred, numClasses), confusion: confusionMatrix(gold, pred, numClasses) };
}

const CJK = /[\u3400-\u9fff\uf900-\ufaff]/u;
const PUNCT = /[\p{P}\p{S}]/gu;

/** SQuAD's normalize_answer, with CJK punctuation removed too. */
export function normalizeAnswer(s: string): string {
  return s.toLowerCase().replace(PUNCT, ' ').replace(/\b(a|an|the)\b/g, ' ').replace(/\s+/g, ' ').trim();
}

/** Whitespace tokens of the normalised answer, each CJK character its own token. */
export function answerTokens(s: string): string[] {
  const out: string[] = [];
  for (const w of normalizeAnswer(s).split(' ')) {
    if (!w) continue;
    let run = '';
    for (const ch of w) {
      if (CJK.test(ch)) {
        if (run) out.push(run);
        run = '';
        out.push(ch);
      } else run += ch;
    }
    if (run) out.push(run);
  }
  return out;
}

export function exactMatch(pred: string, gold: string): number {
  return normalizeAnswer(pred) === normalizeAnswer(gold) ? 1 : 0;
}

/** Harmonic mean of token precision and recall, counting repeated tokens with multiplicity. */
export function tokenF1(pred: string, gold: string): number {
  const p = answerTokens(pred), g = answerTokens(gold);
  if (p.length === 0 || g.length === 0) return p.length === g.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const t of g) counts.set(t, (counts.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of p) {
    const c = counts.get(t) ?? 0;
    if (c > 0) { common++; counts.set(t, c - 1); }
  }
  if (common === 0) return 0;
  const precision = common / p.length, recall = common / g.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Mean EM and F1 (0..1) over pairs. */
export function qaMetrics(preds: readonly string[], golds: readonly string[]): { exactMatch: number; f1: number } {
  if (preds.length !== golds.length) throw new ArgumentError(`qaMetrics: ${preds.length} predictions for ${golds.length} answers`);
  if (preds.length === 0) return { exactMatch: NaN, f1: NaN };
  let em = 0, f1 = 0;
  preds.forEach((p, i) => { em += exactMatch(p, golds[i]); f1 += tokenF1(p, golds[i]); });
  return { exactMatch: em / preds.length, f1: f1 / preds.length };
}
