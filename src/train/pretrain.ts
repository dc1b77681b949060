/**
 * Self-supervised pretraining: GPT on next-token prediction (clm), BERT on masked LM (mlm),
 * T5 on span corruption (span). The corpus is tokenized once into a binary token cache read
 * by offset; the last valFraction of it is held out for evaluation (loss, perplexity), and
 * the unigram baseline on the same held-out tokens is reported beside it.
 */
import { join } from 'node:path';
import { existsSync, mkdirSync } from 'node:fs';
import { ArgumentError } from '../errors.js';
import { Tokenizer, trainBPE, WordCounter, trainBPEFromCounts } from '../tokenizer/index.js';
import { defaultSpecialTokens } from '../tokenizer/special.js';
import { buildTokenCache, TokenCache } from '../data/token_cache.js';
import { readDocuments } from '../data/readers.js';
import { splitTokenRanges, BatchSampler, sequentialBatches, batchRows, type TokenRange, type SamplerCursor } from '../data/loader.js';
import { collateClm, collateMlm, collateSpanCorruption } from '../data/collators.js';
import { Rng, type DataRngState } from '../data/rng.js';
import { GPT } from '../models/gpt.js';
import { Bert } from '../models/bert.js';
import { T5 } from '../models/t5.js';
import { tensor } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import { manualSeed } from '../tensor/random.js';
import { Trainer, type TrainerConfig, type TrainTask, type TrainSummary } from './trainer.js';
import { acquireOutputLock } from '../io/checkpoint.js';
import { ProgressBar } from './progress.js';
import type { Tensor, Device } from '../tensor/tensor.js';

export type ModelKind = 'gpt' | 'bert' | 't5';
export type Objective = 'clm' | 'mlm' | 'span';

export interface PretrainConfig {
  model: ModelKind;
  /** Default: clm for gpt, mlm for bert, span for t5 (the only pairings supported). */
  objective?: Objective;
  /** Model config overrides (preset, n_layer, n_embd, ...); vocab_size comes from the tokenizer. */
  modelConfig?: Record<string, unknown>;
  /** Text files, folders, or JSONL {"text"} files. */
  data: string[];
  /** A tokenizer.json; without one, a byte-level BPE of `vocabSize` is trained on the data. */
  tokenizer?: string;
  vocabSize: number;
  /** Tokens per training row. */
  seqLen: number;
  batchSize: number;
  /** Fraction of the token stream held out for evaluation. */
  valFraction: number;
  /** Held-out batches per evaluation (0 = all). */
  evalBatches: number;
  seed: number;
  outDir: string;
  /** Resume from the checkpoint in outDir. */
  resume: boolean;
  trainer: Partial<TrainerConfig>;
  /** Progress output on stderr. */
  progress: boolean;
  /** 'cpu' (default) or 'cuda'. */
  device?: Device;
}

export const defaultPretrainConfig: Omit<PretrainConfig, 'model' | 'data' | 'outDir'> = {
  vocabSize: 512, seqLen: 64, batchSize: 16, valFraction: 0.05, evalBatches: 16, seed: 1, resume: false,
  trainer: {}, progress: true,
};

const PAIRING: Record<ModelKind, Objective> = { gpt: 'clm', bert: 'mlm', t5: 'span' };

export interface PretrainResult extends TrainSummary {
  model: ModelKind;
  objective: Objective;
  parameters: number;
  trainTokens: number;
  valTokens: number;
  /** Held-out loss and perplexity after training. */
  valLoss: number;
  valPerplexity: number;
  /** Cross-entropy of a unigram model (train counts, add-one) on the held-out tokens. */
  unigramLoss: number;
}

type Batch = { ids: Int32Array; labels: Int32Array; B: number; T: number; mask?: Float32Array; dec?: Int32Array; Tt?: number };

export function loadOrTrainTokenizer(cfg: Pick<PretrainConfig, 'tokenizer' | 'data' | 'vocabSize' | 'progress'>): Tokenizer {
  if (cfg.tokenizer) return Tokenizer.loadSync(cfg.tokenizer);
  const counter = new WordCounter();
  for (const doc of readDocuments(cfg.data)) counter.add(doc.text);
  const state: { bar: ProgressBar | null } = { bar: null };
  const tok = trainBPEFromCounts(counter, {
    vocabSize: cfg.vocabSize, specialTokens: defaultSpecialTokens(),
    onProgress: cfg.progress ? (d, t) => { (state.bar ??= new ProgressBar("tokenizer merges", t)).update(d); } : undefined,
  });
  state.bar?.done();
  return tok;
}

export function runPretrain(partial: Partial<PretrainConfig> & Pick<PretrainConfig, 'model' | 'data' | 'outDir'>): PretrainResult {
  const cfg: PretrainConfig = { ...defaultPretrainConfig, ...partial, trainer: { ...partial.trainer } };
  const objective = cfg.objective ?? PAIRING[cfg.model];
  if (!PAIRING[cfg.model]) throw new ArgumentError(`pretrain: model must be gpt, bert or t5, got '${cfg.model}'`);
  if (PAIRING[cfg.model] !== objective) throw new ArgumentError(`pretrain: objective '${objective}' does not fit model '${cfg.model}' (use ${PAIRING[cfg.model]})`);
  if (!Array.isArray(cfg.data) || cfg.data.length === 0) throw new ArgumentError('pretrain: give at least one data file or folder');
  mkdirSync(cfg.outDir, { recursive: true });
  const lock = acquireOutputLock(cfg.outDir);
  try {
    return pretrainLocked(cfg, objective);
  } finally {
    lock.release();
  }
}

function pretrainLocked(cfg: PretrainConfig, objective: Objective): PretrainResult {
  manualSeed(cfg.seed);
  // 1. tokenizer (reused from the checkpoint on resume so the ids stay the same)
  const tokPath = cfg.resume && existsSync(join(cfg.outDir, 'tokenizer.json')) ? join(cfg.outDir, 'tokenizer.json') : cfg.tokenizer;
  const tok = loadOrTrainTokenizer({ ...cfg, tokenizer: tokPath });
  // 2. token cache and split
  const cachePath = join(cfg.outDir, 'cache', 'corpus.tokens');
  mkdirSync(join(cfg.outDir, 'cache'), { recursive: true });
  buildTokenCache({ sources: cfg.data, out: cachePath, tokenizer: tok, eosId: tok.eosId, tokenizerFingerprint: tok.toJSONString() });
  const cache = TokenCache.open(cachePath);
  try {
    const split = splitTokenRanges(cache.length, { valFraction: cfg.valFraction });
    const count = (rs: TokenRange[]) => rs.reduce((s, r) => s + r.end - r.start, 0);
    const T = cfg.seqLen, B = cfg.batchSize;
    // clm needs T+1 tokens per row; mlm rows are [CLS] + T-1 tokens; span rows are T tokens.
    const windowLength = objective === 'clm' ? T + 1 : objective === 'mlm' ? T - 1 : T;
    if (count(split.train) < windowLength * 2 || count(split.val) < windowLength)
      throw new ArgumentError(`pretrain: the corpus has ${cache.length} tokens, too few for rows of ${windowLength} tokens (train ${count(split.train)}, validation ${count(split.val)})`);
    const sampler = new BatchSampler(cache, { batchSize: B, windowLength, stride: objective === 'clm' ? T : windowLength, seed: cfg.seed, ranges: split.train });
    const dataRng = new Rng(cfg.seed * 2654435761 + 7);
    const specials = tok.specialTokens.map((s) => tok.tokenToId(s)!).filter((x) => x !== undefined);
    const sentinels = Array.from({ length: tok.numSentinels }, (_, i) => tok.sentinelId(i));

    const collate = (rows: Int32Array[], rng: Rng): Batch => {
      if (objective === 'clm') {
        const flat = new Int32Array(rows.length * (T + 1));
        rows.forEach((r, i) => flat.set(r, i * (T + 1)));
        const c = collateClm({ data: flat, batchSize: rows.length, windowLength: T + 1 });
        return { ids: c.inputs, labels: c.targets, B: c.batchSize, T: c.seqLen };
      }
      if (objective === 'mlm') {
        const seqs = rows.map((r) => [tok.clsId, ...r]);
        const c = collateMlm(seqs, rng, { maskId: tok.maskId, padId: tok.padId, vocabSize: tok.vocabSize, specialIds: specials, seqLen: T });
        return { ids: c.inputIds, labels: c.labels, mask: c.attentionMask, B: c.batchSize, T: c.seqLen };
      }
      const c = collateSpanCorruption(rows, rng, { sentinelIds: sentinels, eosId: tok.eosId, padId: tok.padId });
      return { ids: c.inputIds, labels: c.labels, mask: c.attentionMask, dec: c.decoderInputIds, B: c.batchSize, T: c.inputLength, Tt: c.targetLength };
    };

    // 3. model
    const mc = { ...(cfg.modelConfig ?? {}), vocab_size: tok.vocabSize } as Record<string, unknown>;
    const model = cfg.model === 'gpt' ? new GPT({ n_positions: Math.max(T, 16), ...mc })
      : cfg.model === 'bert' ? new Bert({ n_positions: Math.max(T, 16), ...mc })
      : new T5({ ...mc });
    const dev: Device = cfg.device ?? 'cpu';
    model.to(dev);
    const lossOf = (b: Batch): Tensor => {
      const ids = tensor(b.ids, [b.B, b.T], 'int32', dev);
      if (model instanceof GPT) return model.loss(ids, tensor(b.labels, [b.B, b.T], 'int32', dev));
      const mask = tensor(b.mask!, [b.B, b.T], 'float32', dev);
      if (model instanceof Bert) return model.mlmLoss(ids, tensor(b.labels, [b.B, b.T], 'int32', dev), { attentionMask: mask });
      return (model as T5).loss(ids, tensor(b.dec!, [b.B, b.Tt!], 'int32', dev), tensor(b.labels, [b.B, b.Tt!], 'int32', dev), { attentionMask: mask });
    };
    const evaluate = (): Record<string, number> => {
      // Masking for evaluation uses its own fixed stream: every evaluation sees the same batches.
      const rng = new Rng(cfg.seed + 1000003);
      let total = 0, n = 0;
      for (const tb of sequentialBatches(cache, { batchSize: B, windowLength, stride: objective === 'clm' ? T : windowLength, ranges: split.val })) {
        const b = collate(batchRows(tb), rng);
        total += tidy(() => lossOf(b).item());
        n++;
        if (cfg.evalBatches > 0 && n >= cfg.evalBatches) break;
      }
      const loss = n > 0 ? total / n : NaN;
      return { loss, perplexity: Math.exp(loss) };
    };
    const task: TrainTask<Batch> = {
      model: model as TrainTask<Batch>['model'],
      nextBatch: () => collate(batchRows(sampler.next()), dataRng),
      loss: lossOf,
      tokens: (b) => b.B * b.T,
      evaluate,
      dataState: () => ({ sampler: sampler.cursor(), rng: dataRng.state() }),
      setDataState: (s) => {
        const st = s as { sampler: SamplerCursor; rng: DataRngState };
        sampler.restore(st.sampler);
        dataRng.setState(st.rng);
      },
      tokenizerJson: tok.toJSONString(),
    };
    const trainer = new Trainer(task, { stage: `pretrain-${cfg.model}`, outDir: cfg.outDir, progress: cfg.progress, ...cfg.trainer });
    try {
      if (cfg.resume) trainer.resume(cfg.outDir);
      const summary = trainer.run();
      const ev = summary.eval ?? trainer.evaluate();
      return {
        ...summary, model: cfg.model, objective, parameters: model.numParameters(),
        trainTokens: count(split.train), valTokens: count(split.val), valLoss: ev.loss, valPerplexity: ev.perplexity,
        unigramLoss: unigramLoss(cache, split, tok.vocabSize),
      };
    } finally {
      trainer.dispose();
      model.dispose();
    }
  } finally {
    cache.close();
  }
}

/** Cross-entropy (nats/token) of add-one-smoothed unigram counts from train on validation. */
export function unigramLoss(cache: TokenCache, split: { train: TokenRange[]; val: TokenRange[] }, V: number): number {
  const counts = new Float64Array(V).fill(1);
  let total = V;
  const each = (ranges: TokenRange[], fn: (t: number) => void) => {
    for (const r of ranges) for (let at = r.start; at < r.end; at += 65536) {
      const chunk = cache.read(at, Math.min(65536, r.end - at));
      for (let i = 0; i < chunk.length; i++) fn(chunk[i]);
    }
  };
  each(split.train, (t) => { counts[t]++; total++; });
  let nll = 0, n = 0;
  each(split.val, (t) => { nll -= Math.log(counts[t] / total); n++; });
  return n > 0 ? nll / n : NaN;
}

export { trainBPE };
