/**
 * Self-training (pseudo-labelling): a teacher fine-tuned on the labelled set labels the
 * unlabelled texts; predictions whose probability reaches `threshold` are kept (optionally
 * the same number per class, the most confident first, so one class cannot flood the
 * student); a student fine-tuned from the same init on labelled + pseudo-labelled data
 * becomes the next round's teacher. The gain is the last student's held-out accuracy minus
 * the first teacher's.
 */
import { ArgumentError, DataError } from '../errors.js';
import { readClassificationJsonl, labelMap, type ClsExample } from '../data/cls.js';
import { readJsonl, readLines, expectObject, expectString } from '../data/readers.js';
import { trainClassifier, predictProbs, argmax, type ClassifyConfig, type Classifier } from './classify.js';
import type { ClassificationMetrics } from './metrics_cls.js';

export interface SelfTrainConfig {
  init: string;
  fromScratch: boolean;
  train: ClsExample[] | string;
  /** Texts, a JSONL file of {"text"}, or a text file with one example per line. */
  unlabeled: string[] | string;
  eval: ClsExample[] | string;
  /** Keep pseudo-labels whose top probability is at least this. */
  threshold: number;
  /** Keep the same number per class (the smallest class's count above threshold). */
  balance: boolean;
  rounds: number;
  /** Fine-tuning settings shared by the teacher and every student. */
  classify: Partial<Omit<ClassifyConfig, 'init' | 'train' | 'eval' | 'fromScratch' | 'outDir' | 'labels'>>;
  /** The last student's checkpoint, metrics.jsonl and eval.json. */
  outDir?: string;
  progress: boolean;
}

export const defaultSelfTrainConfig: Omit<SelfTrainConfig, 'init' | 'train' | 'unlabeled' | 'eval'> = {
  fromScratch: false, threshold: 0.9, balance: true, rounds: 1, classify: {}, progress: true,
};

export interface SelfTrainRound {
  round: number;
  /** Pseudo-labelled examples kept, in total and per class. */
  kept: number;
  perClass: number[];
  student: ClassificationMetrics;
}

export interface SelfTrainResult {
  labels: string[];
  teacher: ClassificationMetrics;
  rounds: SelfTrainRound[];
  /** Last student accuracy minus teacher accuracy. */
  gain: number;
}

export function readUnlabeled(file: string): string[] {
  const out: string[] = [];
  if (file.endsWith('.jsonl')) for (const t of readJsonl(file, (v) => expectString(expectObject(v), 'text'))) out.push(t);
  else for (const { text } of readLines(file)) if (text.trim()) out.push(text);
  if (out.length === 0) throw new DataError('no unlabelled texts', file);
  return out;
}

/** Indices and labels of the predictions to keep (pure: probabilities in, selection out). */
export function selectPseudoLabels(probs: readonly (readonly number[])[], threshold: number, balance: boolean): { index: number; label: number; confidence: number }[] {
  if (!(threshold >= 0 && threshold <= 1)) throw new ArgumentError(`selfTrain: threshold must be in [0, 1], got ${threshold}`);
  const K = probs[0]?.length ?? 0;
  const byClass: { index: number; label: number; confidence: number }[][] = Array.from({ length: K }, () => []);
  probs.forEach((p, index) => {
    const label = argmax(p);
    if (p[label] >= threshold) byClass[label].push({ index, label, confidence: p[label] });
  });
  if (!balance) return byClass.flat().sort((a, b) => a.index - b.index);
  const m = Math.min(...byClass.map((c) => c.length));
  return byClass.flatMap((c) => [...c].sort((a, b) => b.confidence - a.confidence || a.index - b.index).slice(0, m)).sort((a, b) => a.index - b.index);
}

export function runSelfTrain(partial: Partial<SelfTrainConfig> & Pick<SelfTrainConfig, 'init' | 'train' | 'unlabeled' | 'eval'>): SelfTrainResult {
  const cfg: SelfTrainConfig = { ...defaultSelfTrainConfig, ...partial };
  if (!Number.isInteger(cfg.rounds) || cfg.rounds < 1) throw new ArgumentError(`selfTrain: rounds must be a positive integer, got ${cfg.rounds}`);
  const train = typeof cfg.train === 'string' ? readClassificationJsonl(cfg.train) : cfg.train;
  const evalSet = typeof cfg.eval === 'string' ? readClassificationJsonl(cfg.eval) : cfg.eval;
  const unlabeled = typeof cfg.unlabeled === 'string' ? readUnlabeled(cfg.unlabeled) : cfg.unlabeled;
  const labels = labelMap(train);
  const fit = (data: ClsExample[], last: boolean): Classifier & { eval?: ClassificationMetrics } =>
    trainClassifier({ ...cfg.classify, init: cfg.init, fromScratch: cfg.fromScratch, train: data, eval: evalSet, labels,
      outDir: last ? cfg.outDir : undefined, progress: cfg.progress });

  let teacher = fit(train, false);
  const teacherMetrics = teacher.eval!;
  const rounds: SelfTrainRound[] = [];
  try {
    for (let round = 1; round <= cfg.rounds; round++) {
      const keep = selectPseudoLabels(predictProbs(teacher, unlabeled), cfg.threshold, cfg.balance);
      const perClass = labels.map((_, k) => keep.filter((x) => x.label === k).length);
      const pseudo = keep.map((x) => ({ text: unlabeled[x.index], label: labels[x.label] }));
      const student = fit([...train, ...pseudo], round === cfg.rounds);
      teacher.dispose();
      teacher = student;
      rounds.push({ round, kept: pseudo.length, perClass, student: student.eval! });
      if (cfg.progress)
        console.error(`self-training round ${round}: kept ${pseudo.length} pseudo-labels (${perClass.join('/')}), student accuracy ${(100 * student.eval!.accuracy).toFixed(1)}%`);
    }
  } finally {
    teacher.dispose();
  }
  const last = rounds[rounds.length - 1].student;
  return { labels, teacher: teacherMetrics, rounds, gain: last.accuracy - teacherMetrics.accuracy };
}

