/**
 * Supervised fine-tuning on instruction data (chat SFT), full or LoRA.
 *
 * Examples are rendered by a chat template into segments, tokenized, and labelled on the
 * assistant's tokens only (or on all, `trainOnAll`). Batches are padded per batch or packed
 * into full rows with a block-diagonal attention mask (src/sft/packing.ts). With `lora`, the
 * base is frozen and only adapters train; the output folder then holds the adapters in the
 * PEFT layout plus the merged model as an ordinary checkpoint.
 *
 * Evaluation on held-out conversations: the loss on their assistant tokens (mean per token)
 * and the exact match of greedy answers to the last assistant turn (whitespace normalised,
 * generation stopped at the template's end-of-turn token). The base model is evaluated the
 * same way before training so the gain is visible.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ArgumentError } from '../errors.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import { IM_END, IM_START } from '../tokenizer/special.js';
import { readSftJsonl, type ChatMessage, type SftExample } from '../data/sft.js';
import { Rng } from '../data/rng.js';
import { GPT } from '../models/gpt.js';
import { crossEntropy } from '../ops/cross_entropy.js';
import { tidy, memory } from '../tensor/scope.js';
import { manualSeed } from '../tensor/random.js';
import type { Device, Tensor } from '../tensor/tensor.js';
import { generate } from '../generate/generate.js';
import { applyLora, mergeLora, saveLoraAdapter, defaultLoraConfig, type LoraConfig } from '../nn/lora.js';
import { saveCheckpoint, acquireOutputLock } from '../io/checkpoint.js';
import { ChatMLTemplate, encodeSegments, loadChatTemplate, sftLabels, stopTokenIds, type ChatTemplate } from '../sft/chat_template.js';
import { batchTensors, collatePacked, collatePadded, packRows, type SftBatch, type TokenizedExample } from '../sft/packing.js';
import { Trainer, type TrainerConfig, type TrainTask, type TrainSummary } from './trainer.js';

export interface SftConfig {
  /** Checkpoint folder of the pretrained GPT (config.json, model.safetensors, tokenizer.json). */
  init: string;
  /** Where the model trains (cpu when absent); checkpoints are written the same either way. */
  device?: Device;
  /** SFT JSONL: {"instruction","input"?,"response"} or {"messages":[...]} per line. */
  data: string;
  /** Held-out SFT JSONL for evaluation (loss and exact match). */
  eval?: string;
  outDir: string;
  /** A tokenizer_config.json with a Jinja `chat_template`, or a .jinja file. Default: ChatML. */
  chatTemplate?: string;
  /** Loss on every token instead of the assistant's only. */
  trainOnAll: boolean;
  /** Pack examples into full rows (block-diagonal attention) instead of padding each batch. */
  pack: boolean;
  /** Row length when packing and the longest example kept (longer ones are truncated). Default: n_positions. */
  seqLen?: number;
  /** Examples per batch when padding; rows per batch when packing. */
  batchSize: number;
  /** LoRA adapters instead of full fine-tuning (null = full). */
  lora: Partial<LoraConfig> | null;
  seed: number;
  /** Held-out examples scored by exact match (0 = all). */
  evalExamples: number;
  maxNewTokens: number;
  /** Evaluate the base model before training. */
  evalBase: boolean;
  /** Sample answers (before/after) to return. */
  samples: number;
  trainer: Partial<TrainerConfig>;
  progress: boolean;
}

export const defaultSftConfig: Omit<SftConfig, 'init' | 'data' | 'outDir'> = {
  trainOnAll: false, pack: false, batchSize: 16, lora: null, seed: 1, evalExamples: 200, maxNewTokens: 24, evalBase: true,
  samples: 6, trainer: {}, progress: true,
};

export interface SftEval extends Record<string, number> { loss: number; exact_match: number }
export interface SftSample { prompt: string; reference: string; before?: string; after: string }

export interface SftResult extends TrainSummary {
  mode: 'full' | 'lora';
  template: string;
  parameters: number;
  trainableParameters: number;
  /** AdamW moments (m and v) of the trainable parameters. */
  optimizerStateBytes: number;
  /** Peak resident set of the process (includes anything it did before). */
  peakRssBytes: number;
  /** Largest live native bytes (weights, optimizer, gradients, activations), sampled after each forward. */
  peakNativeBytes: number;
  trainExamples: number;
  truncated: number;
  /** Real (non-pad) tokens over all tokens fed, for the batches of this run. */
  fillRatio: number;
  base?: SftEval;
  final?: SftEval;
  samples: SftSample[];
  loraConfig?: LoraConfig;
}

interface Prepared extends TokenizedExample { prompt: string; reference: string }

/** Tokenized, labelled examples; prompt/reference are for exact match (the last assistant turn). */
export function prepareSftExamples(examples: readonly SftExample[], tok: Tokenizer, template: ChatTemplate, opts: { maxLength: number; trainOnAll?: boolean }): { examples: Prepared[]; truncated: number } {
  let truncated = 0;
  const out = examples.map((ex): Prepared => {
    const enc = encodeSegments(tok, template.segments(ex.messages));
    let labels = sftLabels(enc, { trainOnAll: opts.trainOnAll });
    let ids = enc.ids;
    if (ids.length > opts.maxLength) {
      truncated++;
      ids = ids.slice(0, opts.maxLength);
      labels = labels.slice(0, opts.maxLength);
      labels[labels.length - 1] = -100;
    }
    const last = ex.messages.map((m) => m.role).lastIndexOf('assistant');
    return { ids, labels, prompt: template.prompt(ex.messages.slice(0, last) as ChatMessage[]), reference: ex.messages[last].content };
  });
  return { examples: out, truncated };
}

export const normaliseAnswer = (s: string): string => s.replace(/\s+/g, ' ').trim();

export function runSft(partial: Partial<SftConfig> & Pick<SftConfig, 'init' | 'data' | 'outDir'>): SftResult {
  const cfg: SftConfig = { ...defaultSftConfig, ...partial, trainer: { ...partial.trainer } };
  if (!Number.isInteger(cfg.batchSize) || cfg.batchSize <= 0) throw new ArgumentError(`sft: batchSize must be a positive integer, got ${cfg.batchSize}`);
  mkdirSync(cfg.outDir, { recursive: true });
  const lock = acquireOutputLock(cfg.outDir);
  try {
    return sftLocked(cfg);
  } finally {
    lock.release();
  }
}

function sftLocked(cfg: SftConfig): SftResult {
  manualSeed(cfg.seed);
  // 1. tokenizer, template, data
  const tok = Tokenizer.loadSync(join(cfg.init, 'tokenizer.json'));
  const template: ChatTemplate = cfg.chatTemplate ? loadChatTemplate(cfg.chatTemplate) : new ChatMLTemplate();
  if (!cfg.chatTemplate && (tok.tokenToId(IM_START) === undefined || tok.tokenToId(IM_END) === undefined))
    throw new ArgumentError(`sft: the tokenizer in ${cfg.init} lacks the special tokens ${IM_START} ${IM_END} of the default chat template; give --chat-template`);
  const stops = stopTokenIds(tok, template);
  const model = GPT.fromCheckpoint(cfg.init);
  const ctx = model.config.n_positions;
  const T = Math.min(cfg.seqLen ?? ctx, ctx);
  let trainer: Trainer<SftBatch> | null = null;
  try {
    const train = prepareSftExamples(readSftJsonl(cfg.data), tok, template, { maxLength: T, trainOnAll: cfg.trainOnAll });
    const held = cfg.eval ? prepareSftExamples(readSftJsonl(cfg.eval), tok, template, { maxLength: T }).examples : [];
    const padId = tok.tokenToId('[PAD]') ?? tok.eosId;

    // 2. model (+ adapters)
    let loraCfg: LoraConfig | undefined;
    if (cfg.lora) {
      loraCfg = { ...defaultLoraConfig, ...cfg.lora };
      applyLora(model, loraCfg);
    }
    // Adapters are made on the CPU like the checkpoint, then everything moves together.
    model.to(cfg.device ?? 'cpu');

    // 3. batches: a seeded shuffle per epoch; the cursor is (epoch, position)
    let epoch = 0, pos = 0, order = shuffled(train.examples.length, cfg.seed, 0);
    let realTokens = 0, fedTokens = 0, peakNative = 0;
    const take = (): Prepared => {
      if (pos >= order.length) { epoch++; pos = 0; order = shuffled(train.examples.length, cfg.seed, epoch); }
      return train.examples[order[pos++]];
    };
    const nextBatch = (): SftBatch => {
      let b: SftBatch;
      if (!cfg.pack) b = collatePadded(Array.from({ length: cfg.batchSize }, take), padId);
      else {
        // First-fit over a window of upcoming examples (never across an epoch boundary, so
        // the cursor stays a plain (epoch, pos)); those that fit in none of the B rows are
        // put back for the next batch, so every example is still seen once per epoch.
        if (pos >= order.length) { epoch++; pos = 0; order = shuffled(train.examples.length, cfg.seed, epoch); }
        const start = pos, window: Prepared[] = [];
        const limit = Math.min(order.length - pos, 4 * cfg.batchSize * Math.ceil(T / 8));
        for (let i = 0; i < limit; i++) window.push(take());
        const rows = packRows(window, T, cfg.batchSize);
        pos = start + rows.placed!;
        b = collatePacked(rows, T, padId);
      }
      realTokens += b.realTokens;
      fedTokens += b.B * b.T;
      return b;
    };
    const lossOf = (b: SftBatch, reduction: 'mean' | 'sum' = 'mean'): Tensor => {
      const t = batchTensors(b, model.device);
      return crossEntropy(model.forward(t.ids, { positionIds: t.positionIds, attnBias: t.attnBias }), t.labels, { reduction });
    };

    // 4. evaluation: held-out loss per assistant token, exact match of greedy answers
    const answers = new Map<number, string>();
    const evaluate = (): SftEval => {
      let sum = 0, count = 0;
      for (let i = 0; i < held.length; i += cfg.batchSize) {
        const b = collatePadded(held.slice(i, i + cfg.batchSize), padId);
        sum += tidy(() => lossOf(b, 'sum').item());
        for (const l of b.labels) if (l !== -100) count++;
      }
      const n = cfg.evalExamples > 0 ? Math.min(cfg.evalExamples, held.length) : held.length;
      let hits = 0;
      for (let i = 0; i < n; i++) {
        const ans = answerOf(model, tok, held[i].prompt, stops, cfg.maxNewTokens);
        answers.set(i, ans);
        if (normaliseAnswer(ans) === normaliseAnswer(held[i].reference)) hits++;
      }
      return { loss: count > 0 ? sum / count : NaN, exact_match: n > 0 ? hits / n : NaN };
    };
    const task: TrainTask<SftBatch> = {
      model: model as TrainTask<SftBatch>['model'],
      nextBatch,
      loss: (b) => {
        const l = lossOf(b);
        // After the forward every activation kept for backward is live: the step's high-water mark, near enough.
        peakNative = Math.max(peakNative, memory().numBytes);
        return l;
      },
      tokens: (b) => b.realTokens,
      evaluate: held.length ? evaluate : undefined,
      dataState: () => ({ epoch, pos }),
      setDataState: (s) => {
        const st = s as { epoch: number; pos: number };
        epoch = st.epoch; pos = st.pos; order = shuffled(train.examples.length, cfg.seed, epoch);
      },
      tokenizerJson: tok.toJSONString(),
    };
    trainer = new Trainer(task, { stage: cfg.lora ? 'sft-lora' : 'sft', outDir: cfg.outDir, progress: cfg.progress, ...cfg.trainer });
    const nSamples = Math.min(cfg.samples, held.length);
    let base: SftEval | undefined, before: string[] = [];
    if (held.length && cfg.evalBase) {
      base = trainer.evaluate() as SftEval;
      before = Array.from({ length: nSamples }, (_, i) => answers.get(i) ?? '');
    }
    const summary = trainer.run();
    const final = held.length ? (summary.eval as SftEval | undefined) ?? (trainer.evaluate() as SftEval) : undefined;
    const samples: SftSample[] = Array.from({ length: nSamples }, (_, i) => ({
      prompt: held[i].prompt, reference: held[i].reference, before: base ? before[i] : undefined, after: answers.get(i) ?? '',
    }));
    const trainable = model.trainableParameters().reduce((s, p) => s + p.size, 0);
    const result: SftResult = {
      ...summary, mode: cfg.lora ? 'lora' : 'full', template: template.name, parameters: 0, trainableParameters: trainable,
      optimizerStateBytes: trainer.opt.m.concat(trainer.opt.v).reduce((s, t) => s + t.size * 4, 0),
      peakRssBytes: process.resourceUsage().maxRSS * 1024, peakNativeBytes: peakNative,
      trainExamples: train.examples.length, truncated: train.truncated, fillRatio: fedTokens > 0 ? realTokens / fedTokens : NaN,
      base, final, samples, loraConfig: loraCfg,
    };
    // 5. LoRA output: the adapters (PEFT layout), then the merged model as the checkpoint
    if (loraCfg) {
      saveLoraAdapter(model, cfg.outDir, loraCfg, { baseModel: cfg.init });
      mergeLora(model);
      saveCheckpoint(cfg.outDir, { config: model.config, weights: model.stateDict(), tokenizerJson: tok.toJSONString() });
    }
    result.parameters = model.numParameters();
    return result;
  } finally {
    trainer?.dispose();
    model.dispose();
  }
}

/** Greedy answer to a rendered prompt, decoded without the stop token. */
export function answerOf(model: GPT, tok: Tokenizer, prompt: string, stops: readonly number[], maxNewTokens: number): string {
  const ids = tok.encode(prompt);
  const room = model.config.n_positions - ids.length;
  if (room <= 0) return '';
  const out = generate(model, ids.slice(-model.config.n_positions), { temperature: 0, maxNewTokens: Math.min(maxNewTokens, room), stopTokens: [...stops] });
  const cut = out.findIndex((t) => stops.includes(t));
  return tok.decode(cut >= 0 ? out.slice(0, cut) : out, { skipSpecial: true });
}

function shuffled(n: number, seed: number, epoch: number): number[] {
  const r = new Rng(seed * 1000003 + epoch);
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
