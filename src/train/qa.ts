/**
 * Question answering, two ways.
 *
 * Extractive (BERT): [CLS] question [SEP] context [SEP] with segment ids 0/1; a linear head
 * gives start and end logits over the context tokens only; the loss is the mean of the two
 * cross-entropies; a prediction is the best span (start <= end, at most maxAnswerTokens)
 * and is read back from the context's own bytes. Token byte offsets come from decoding each
 * id, so a span always maps to an exact substring. Scored by SQuAD exact match and token F1.
 *
 * Generative (GPT): "Context: c\nQuestion: q\nAnswer:" followed by " answer<eos>"; the loss
 * covers the answer tokens only; predictions are greedy until <eos>; scored by exact match
 * (and token F1). Generative (T5): the same prompt into the encoder, the answer + <eos> out of
 * the decoder (started from <pad>, as T5 does).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArgumentError, DataError } from '../errors.js';
import { readQaJsonl, type QaExample } from '../data/cls.js';
import { padSequences, IGNORE_INDEX } from '../data/collators.js';
import { Rng, type DataRngState } from '../data/rng.js';
import { Tokenizer } from '../tokenizer/index.js';
import { loadBackbone, SpanQA } from '../models/heads.js';
import { Bert } from '../models/bert.js';
import { GPT } from '../models/gpt.js';
import { T5 } from '../models/t5.js';
import { loadCheckpoint } from '../io/checkpoint.js';
import { tensor } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import { manualSeed } from '../tensor/random.js';
import { noGrad } from '../autograd/graph.js';
import { crossEntropy } from '../ops/cross_entropy.js';
import { add, scale } from '../ops/elementwise.js';
import { generate } from '../generate/generate.js';
import type { Module } from '../nn/module.js';
import type { Device } from '../tensor/tensor.js';
import { requireDevice } from '../ops/device.js';
import { Trainer, type TrainerConfig, type TrainTask, type TrainSummary } from './trainer.js';
import { qaMetrics } from './metrics_cls.js';

export type QaMode = 'extractive' | 'generative';

export interface QaConfig {
  /** Checkpoint of the backbone: bert for extractive, gpt or t5 for generative QA. */
  init: string;
  fromScratch: boolean;
  train: QaExample[] | string;
  eval?: QaExample[] | string;
  outDir?: string;
  /** Tokens per example (capped at n_positions). */
  maxLen: number;
  batchSize: number;
  /** Longest predicted answer, in tokens. */
  maxAnswerTokens: number;
  seed: number;
  /** Where the model trains and predicts (cpu when absent). */
  device?: Device;
  trainer: Partial<TrainerConfig>;
  progress: boolean;
}

export const defaultQaConfig: Omit<QaConfig, 'init' | 'train'> = {
  fromScratch: false, maxLen: 96, batchSize: 16, maxAnswerTokens: 12, seed: 1,
  trainer: { steps: 300, lr: 1e-3, minLr: 1e-4, warmupSteps: 30, weightDecay: 0.01 }, progress: true,
};

export interface QaResult {
  mode: QaMode;
  summary: TrainSummary;
  eval?: { exactMatch: number; f1: number };
  /** Training examples dropped because the answer fell past maxLen. */
  truncated: number;
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/** One extractive example as model input, with the answer's token span when known. */
interface SpanInput { ids: number[]; types: number[]; allowed: number[]; ctxStart: number; offsets: [number, number][]; ctxBytes: Uint8Array; start: number; end: number }

function encodeSpan(tok: Tokenizer, ex: QaExample, maxLen: number): SpanInput {
  const q = tok.encode(ex.question).slice(0, Math.max(1, Math.floor(maxLen / 3)));
  const ctxIds = tok.encode(ex.context).slice(0, Math.max(1, maxLen - q.length - 3));
  const ctxBytes = utf8.encode(ex.context);
  const offsets: [number, number][] = [];
  let at = 0;
  for (const id of ctxIds) {
    const n = tok.decodeBytes([id]).length;
    offsets.push([at, at + n]);
    at += n;
  }
  const ids = [tok.clsId, ...q, tok.sepId, ...ctxIds, tok.sepId];
  const ctxStart = q.length + 2;
  const types = ids.map((_, i) => (i >= ctxStart ? 1 : 0));
  const allowed = ids.map((_, i) => (i >= ctxStart && i < ctxStart + ctxIds.length ? 1 : 0));
  // The answer's first occurrence, in bytes, then the tokens that cover it.
  let start = -1, end = -1;
  const idx = ex.context.indexOf(ex.answer);
  if (idx >= 0) {
    const b0 = utf8.encode(ex.context.slice(0, idx)).length, b1 = b0 + utf8.encode(ex.answer).length;
    start = offsets.findIndex(([, e]) => e > b0);
    for (let i = offsets.length - 1; i >= 0; i--) if (offsets[i][0] < b1) { end = i; break; }
    if (start < 0 || end < start || offsets[end][1] < b1) start = end = -1; // cut off by truncation
    else { start += ctxStart; end += ctxStart; }
  }
  return { ids, types, allowed, ctxStart, offsets, ctxBytes, start, end };
}

/** Best span by start + end logit with start <= end < start + maxTokens, as context text. */
export function bestSpan(start: ArrayLike<number>, end: ArrayLike<number>, allowed: ArrayLike<number>, maxTokens: number): [number, number] {
  let best = -Infinity, bs = 0, be = 0;
  for (let s = 0; s < start.length; s++) {
    if (!allowed[s]) continue;
    for (let e = s; e < Math.min(end.length, s + maxTokens); e++) {
      if (!allowed[e]) break;
      const v = start[s] + end[e];
      if (v > best) { best = v; bs = s; be = e; }
    }
  }
  return [bs, be];
}

function examplesOf(x: QaExample[] | string, extractive: boolean): { examples: QaExample[]; file?: string } {
  if (typeof x === 'string') return { examples: readQaJsonl(x, { extractive }), file: x };
  if (extractive) x.forEach((e, i) => {
    if (!e.context.includes(e.answer)) throw new DataError(`example ${i}: the answer ${JSON.stringify(e.answer)} does not occur in its context`);
  });
  return { examples: x };
}

function shuffler(n: number, seed: number) {
  const rng = new Rng(seed * 1000003 + 13);
  let order: number[] = [], pos = 0;
  return {
    take(k: number): number[] {
      const out: number[] = [];
      while (out.length < Math.min(k, n)) {
        if (pos >= order.length) { order = rng.shuffle(Array.from({ length: n }, (_, i) => i)); pos = 0; }
        out.push(order[pos++]);
      }
      return out;
    },
    state: () => ({ order, pos, rng: rng.state() }),
    restore(s: unknown) { const st = s as { order: number[]; pos: number; rng: DataRngState }; order = st.order; pos = st.pos; rng.setState(st.rng); },
  };
}

/** BERT/GPT through loadBackbone; T5 (generative only) loaded here, since it has no classification head. */
function loadQaBackbone(dir: string, fromScratch: boolean): { backbone: Bert | GPT | T5; tokenizerJson?: Record<string, unknown> } {
  const ck = loadCheckpoint(dir);
  if (ck.config.model_type !== 't5') return loadBackbone(dir, { fromScratch });
  const m = new T5(ck.config as ConstructorParameters<typeof T5>[0]);
  try {
    if (!fromScratch) m.loadStateDict(ck.weights);
  } catch (e) {
    m.dispose();
    throw e;
  }
  return { backbone: m, tokenizerJson: ck.tokenizerJson };
}

const qaPrompt = (ex: Pick<QaExample, 'question' | 'context'>) => `Context: ${ex.context}\nQuestion: ${ex.question}\nAnswer:`;

export function runQa(partial: Partial<QaConfig> & Pick<QaConfig, 'init' | 'train'>): QaResult {
  const cfg: QaConfig = { ...defaultQaConfig, ...partial, trainer: { ...defaultQaConfig.trainer, ...partial.trainer } };
  const dev = requireDevice(cfg.device ?? 'cpu', 'qa');
  manualSeed(cfg.seed);
  const { backbone, tokenizerJson } = loadQaBackbone(cfg.init, cfg.fromScratch);
  if (!tokenizerJson) { backbone.dispose(); throw new DataError('the checkpoint has no tokenizer.json', cfg.init); }
  const tok = Tokenizer.fromJSON(tokenizerJson, join(cfg.init, 'tokenizer.json'));
  const mode: QaMode = backbone instanceof Bert ? 'extractive' : 'generative';
  let train: QaExample[], ev: { examples: QaExample[]; file?: string } | undefined;
  try {
    train = examplesOf(cfg.train, mode === 'extractive').examples;
    ev = cfg.eval !== undefined ? examplesOf(cfg.eval, mode === 'extractive') : undefined;
  } catch (e) {
    backbone.dispose();
    throw e;
  }
  // T5's relative positions have no length limit; GPT and BERT stop at n_positions.
  const maxLen = backbone instanceof T5 ? cfg.maxLen : Math.min(cfg.maxLen, backbone.config.n_positions);
  const model: Module & { config: object } = backbone instanceof Bert ? new SpanQA(backbone) : backbone;
  try {
    model.to(dev);
  } catch (e) {
    model.dispose();
    throw e;
  }
  const ids = (x: ArrayLike<number>, shape: number[]) => tensor(x instanceof Int32Array ? x : Int32Array.from(x), shape, 'int32', dev);
  const mask = (x: Float32Array, shape: number[]) => tensor(x, shape, 'float32', dev);
  let truncated = 0;
  let task: TrainTask<unknown>;
  let predict: (exs: QaExample[]) => string[];

  if (model instanceof SpanQA) {
    const inputs = train.map((e) => encodeSpan(tok, e, maxLen)).filter((x) => x.start >= 0 || (truncated++, false));
    if (inputs.length === 0) { model.dispose(); throw new ArgumentError(`qa: every answer lies past maxLen ${maxLen}`); }
    const s = shuffler(inputs.length, cfg.seed);
    type B = { xs: SpanInput[] };
    const forward = (xs: SpanInput[]) => {
      const p = padSequences(xs.map((x) => x.ids), { padId: tok.padId });
      const types = padSequences(xs.map((x) => x.types), { padId: 0 }).ids;
      const allowed = padSequences(xs.map((x) => x.allowed), { padId: 0 }).ids;
      const [Bn, T] = [p.batchSize, p.seqLen];
      return { ...model.forward(ids(p.ids, [Bn, T]), ids(types, [Bn, T]), mask(p.attentionMask, [Bn, T]), allowed), allowed, T };
    };
    task = {
      model, nextBatch: () => ({ xs: s.take(cfg.batchSize).map((i) => inputs[i]) }),
      loss: (b) => {
        const { xs } = b as B;
        const o = forward(xs);
        const st = ids(xs.map((x) => x.start), [xs.length]), en = ids(xs.map((x) => x.end), [xs.length]);
        return scale(add(crossEntropy(o.start, st), crossEntropy(o.end, en)), 0.5);
      },
      tokens: (b) => (b as B).xs.length,
      dataState: s.state, setDataState: s.restore, tokenizerJson: tok.toJSONString(),
    };
    predict = (exs) => {
      const out: string[] = [];
      const was = model.training;
      model.eval();
      try {
        noGrad(() => {
          for (let i = 0; i < exs.length; i += 32) {
            const xs = exs.slice(i, i + 32).map((e) => encodeSpan(tok, e, maxLen));
            const [st, en, allowed, T] = tidy(() => { const o = forward(xs); return [o.start.toArray(), o.end.toArray(), o.allowed, o.T] as const; });
            xs.forEach((x, r) => {
              const [a, b] = bestSpan(st.subarray(r * T, (r + 1) * T), en.subarray(r * T, (r + 1) * T), allowed.subarray(r * T, (r + 1) * T), cfg.maxAnswerTokens);
              if (x.offsets.length === 0) { out.push(''); return; }
              out.push(utf8d.decode(x.ctxBytes.subarray(x.offsets[a - x.ctxStart][0], x.offsets[b - x.ctxStart][1])).trim());
            });
          }
        });
      } finally {
        model.train(was);
      }
      return out;
    };
  } else if (model instanceof T5) {
    // Encoder reads the prompt; decoder starts from <pad> (T5's start token) and emits the answer + <eos>.
    const enc = (e: QaExample) => tok.encode(qaPrompt(e)).slice(-maxLen);
    const rows = train.map((e) => ({ src: enc(e), tgt: [...tok.encode(` ${e.answer}`), tok.eosId].slice(0, cfg.maxAnswerTokens + 1) }));
    const s = shuffler(rows.length, cfg.seed);
    type B = { src: Int32Array; mask: Float32Array; dec: Int32Array; labels: Int32Array; Bn: number; Ts: number; Tt: number };
    task = {
      model, nextBatch: (): B => {
        const xs = s.take(cfg.batchSize).map((i) => rows[i]);
        const p = padSequences(xs.map((x) => x.src), { padId: tok.padId });
        const dec = padSequences(xs.map((x) => [tok.padId, ...x.tgt.slice(0, -1)]), { padId: tok.padId });
        const labels = padSequences(xs.map((x) => x.tgt), { padId: IGNORE_INDEX });
        return { src: p.ids, mask: p.attentionMask, dec: dec.ids, labels: labels.ids, Bn: p.batchSize, Ts: p.seqLen, Tt: dec.seqLen };
      },
      loss: (b) => {
        const x = b as B;
        return model.loss(ids(x.src, [x.Bn, x.Ts]), ids(x.dec, [x.Bn, x.Tt]), ids(x.labels, [x.Bn, x.Tt]), { attentionMask: mask(x.mask, [x.Bn, x.Ts]) });
      },
      tokens: (b) => (b as B).Bn * (b as B).Ts,
      dataState: s.state, setDataState: s.restore, tokenizerJson: tok.toJSONString(),
    };
    predict = (exs) => {
      const was = model.training;
      model.eval();
      try {
        return noGrad(() => exs.map((e) => {
          const src = enc(e);
          const out: number[] = [];
          tidy(() => {
            const h = model.encode(ids(src, [1, src.length]));
            // Greedy, recomputing the decoder each step: answers are a few tokens long.
            for (let i = 0; i < cfg.maxAnswerTokens; i++) {
              const dec = [tok.padId, ...out];
              const next = tidy(() => {
                const logits = model.decode(ids(dec, [1, dec.length]), h).toArray();
                const V = model.config.vocab_size, row = logits.subarray((dec.length - 1) * V);
                let best = 0;
                for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
                return best;
              });
              if (next === tok.eosId) break;
              out.push(next);
            }
          });
          return tok.decode(out).trim();
        }));
      } finally {
        model.train(was);
      }
    };
  } else {
    const gpt = model as GPT;
    // Prompt tokens keep their end (where the question is) when the context is too long.
    const encodeGen = (e: QaExample) => {
      const answer = [...tok.encode(` ${e.answer}`), tok.eosId].slice(0, cfg.maxAnswerTokens + 1);
      const prompt = tok.encode(qaPrompt(e)).slice(-(maxLen + 1 - answer.length));
      return { ids: [...prompt, ...answer], promptLen: prompt.length };
    };
    const rows = train.map(encodeGen);
    const s = shuffler(rows.length, cfg.seed);
    type B = { ids: Int32Array; targets: Int32Array; Bn: number; T: number };
    task = {
      model, nextBatch: (): B => {
        const xs = s.take(cfg.batchSize).map((i) => rows[i]);
        const p = padSequences(xs.map((x) => x.ids.slice(0, -1)), { padId: tok.padId });
        const targets = new Int32Array(p.ids.length).fill(IGNORE_INDEX);
        xs.forEach((x, r) => { for (let t = x.promptLen - 1; t < x.ids.length - 1; t++) targets[r * p.seqLen + t] = x.ids[t + 1]; });
        return { ids: p.ids, targets, Bn: p.batchSize, T: p.seqLen };
      },
      loss: (b) => { const x = b as B; return gpt.loss(ids(x.ids, [x.Bn, x.T]), ids(x.targets, [x.Bn, x.T])); },
      tokens: (b) => (b as B).Bn * (b as B).T,
      dataState: s.state, setDataState: s.restore, tokenizerJson: tok.toJSONString(),
    };
    predict = (exs) => exs.map((e) => {
      const prompt = tok.encode(qaPrompt(e)).slice(-(maxLen - cfg.maxAnswerTokens));
      const out = generate(gpt, prompt, { maxNewTokens: cfg.maxAnswerTokens, temperature: 0, stopTokens: [tok.eosId] });
      return tok.decode(out.filter((t) => t !== tok.eosId)).trim();
    });
  }
  if (ev) {
    const e = ev;
    task.evaluate = () => qaMetrics(predict(e.examples), e.examples.map((x) => x.answer)) as unknown as Record<string, number>;
  }
  if (cfg.outDir) mkdirSync(cfg.outDir, { recursive: true });
  const trainer = new Trainer(task, { stage: `qa-${mode}`, outDir: cfg.outDir, progress: cfg.progress, ...cfg.trainer });
  try {
    const summary = trainer.run();
    const evalMetrics = summary.eval ?? (ev ? trainer.evaluate() : undefined);
    const metrics = evalMetrics ? { exactMatch: evalMetrics.exactMatch, f1: evalMetrics.f1 } : undefined;
    if (cfg.outDir && metrics) writeFileSync(join(cfg.outDir, 'eval.json'), JSON.stringify({ mode, ...metrics }, null, 2) + '\n');
    return { mode, summary, eval: metrics, truncated };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}
