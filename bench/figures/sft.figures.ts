// The figures of docs/SFT.md, on the built-in world task at full size (not part of npm test):
//   npm run figures -- bench/figures/sft.figures.ts
// Writes the table to $SFT_FIGURES_OUT (default /tmp/lmt-sft-figures/figures.json) and stdout.
// SFT_FIGURES=speed reruns only the throughput part on the base checkpoint already there.
import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateWorld, worldCorpus, worldInstructions } from '../../src/pipeline/world.js';
import { runPretrain } from '../../src/train/pretrain.js';
import { runSft, type SftResult } from '../../src/train/sft.js';

const dir = process.env.SFT_FIGURES_OUT ?? '/tmp/lmt-sft-figures';

describe('SFT figures (built-in world task)', () => {
  it('pretrain, then full and LoRA SFT; packing vs padding throughput', () => {
    mkdirSync(dir, { recursive: true });
    const world = generateWorld(7, 16);
    const corpus = join(dir, 'corpus.txt');
    writeFileSync(corpus, worldCorpus(world, { documents: 1500 }).join('\n\n'));
    const { train, heldOut } = worldInstructions(world, { heldOutFraction: 0.25 });
    writeFileSync(join(dir, 'train.jsonl'), train.map((q) => JSON.stringify({ instruction: q.instruction, response: q.response })).join('\n'));
    writeFileSync(join(dir, 'dev.jsonl'), heldOut.map((q) => JSON.stringify({ instruction: q.instruction, response: q.response })).join('\n'));
    const base = join(dir, 'base');
    const common = { init: base, data: join(dir, 'train.jsonl'), eval: join(dir, 'dev.jsonl'), batchSize: 16, seqLen: 96, progress: false, samples: 8, evalExamples: 0 };
    // Throughput only: same data, no evaluation. Padded at 16 examples per batch and at as
    // many examples as 16 packed rows hold (equal tokens per step), to separate the two effects.
    const speed = (pack: boolean, lora: boolean, batchSize = 16): SftResult => runSft({ ...common, eval: undefined, evalBase: false, pack, batchSize,
      outDir: join(dir, `speed-${pack ? 'pack' : 'pad'}${batchSize}-${lora ? 'lora' : 'full'}`),
      lora: lora ? { r: 8, alpha: 16, dropout: 0 } : null, trainer: { steps: 40, lr: 1e-3, warmupSteps: 5 } });
    if (process.env.SFT_FIGURES === 'speed') {
      const pack = speed(true, false), pad = speed(false, false), padEq = speed(false, false, 80), packLora = speed(true, true);
      const t = (r: SftResult) => ({ realTokensPerS: r.tokensPerSecond, fill: r.fillRatio, peakNativeBytes: r.peakNativeBytes, optimizerStateBytes: r.optimizerStateBytes, trainable: r.trainableParameters });
      const out = { packed: t(pack), padded16: t(pad), padded80: t(padEq), packedLora: t(packLora) };
      writeFileSync(join(dir, 'speed.json'), JSON.stringify(out, null, 2));
      console.log(JSON.stringify(out, null, 2));
      return;
    }
    const pre = runPretrain({ model: 'gpt', data: [corpus], outDir: base, vocabSize: 1024, seqLen: 64, batchSize: 16,
      modelConfig: { n_embd: 96, n_head: 4, n_layer: 3, n_positions: 96, dropout: 0 }, trainer: { steps: 800, lr: 5e-3, warmupSteps: 20 }, progress: false });
    const full = runSft({ ...common, pack: true, outDir: join(dir, 'full'), trainer: { steps: 150, lr: 2e-3, warmupSteps: 10 } });
    const lora = runSft({ ...common, pack: true, outDir: join(dir, 'lora'), lora: { r: 8, alpha: 16, dropout: 0.05 }, trainer: { steps: 150, lr: 1e-2, warmupSteps: 10, weightDecay: 0 } });
    const pad = speed(false, false), pack = speed(true, false), packLora = speed(true, true);
    const row = (r: SftResult) => ({
      em: r.final?.exact_match, loss: r.final?.loss, seconds: r.seconds, realTokensPerS: r.tokensPerSecond, trainable: r.trainableParameters,
      optimizerStateBytes: r.optimizerStateBytes, peakNativeBytes: r.peakNativeBytes, peakRssBytes: r.peakRssBytes,
    });
    const figures = {
      pretrain: { parameters: pre.parameters, valLoss: pre.valLoss, seconds: pre.seconds, trainFacts: train.length, heldOut: heldOut.length },
      base: full.base, full: row(full), lora: row(lora),
      throughput: { padded: { realTokensPerS: pad.tokensPerSecond, fill: pad.fillRatio }, packed: { realTokensPerS: pack.tokensPerSecond, fill: pack.fillRatio },
        gain: pack.tokensPerSecond / pad.tokensPerSecond, packedLora: { realTokensPerS: packLora.tokensPerSecond, peakNativeBytes: packLora.peakNativeBytes } },
      speedFull: { peakNativeBytes: pack.peakNativeBytes, optimizerStateBytes: pack.optimizerStateBytes, trainable: pack.trainableParameters },
      samplesFull: full.samples, samplesLora: lora.samples,
    };
    writeFileSync(join(dir, 'figures.json'), JSON.stringify(figures, null, 2));
    console.log(JSON.stringify(figures, null, 2));
    expect(full.final!.exact_match).toBeGreaterThan(full.base!.exact_match);
  }, 1_800_000);
});
