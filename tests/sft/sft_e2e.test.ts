// The built-in instruction task, small: pretrain a tiny GPT on the world corpus, then SFT
// (full and LoRA) must raise held-out exact match well above the base model's.
import { describe, expect, it, beforeAll, vi } from 'vitest';
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateWorld, worldCorpus, worldInstructions } from '../../src/pipeline/world.js';
import { runPretrain } from '../../src/train/pretrain.js';
import { runSft } from '../../src/train/sft.js';
import { sftJsonlLine, instructionMessages } from '../../src/data/sft.js';
import { memory, ArgumentError } from '../../src/index.js';
import { runSftCli } from '../../src/cli/sft.js';

let dir = '', base = '', train = '', dev = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lmt-sft-e2e-'));
  const world = generateWorld(3, 8);
  const corpus = join(dir, 'corpus.txt');
  writeFileSync(corpus, worldCorpus(world, { documents: 400, chinese: false }).join('\n\n'));
  const { train: tr, heldOut } = worldInstructions(world, { chinese: false, heldOutFraction: 0.3 });
  train = join(dir, 'train.jsonl');
  dev = join(dir, 'dev.jsonl');
  writeFileSync(train, tr.map((q) => JSON.stringify({ instruction: q.instruction, response: q.response })).join('\n'));
  writeFileSync(dev, heldOut.map((q) => sftJsonlLine(instructionMessages(q.instruction, undefined, q.response))).join('\n'));
  base = join(dir, 'base');
  const t0 = Date.now();
  runPretrain({ model: 'gpt', data: [corpus], outDir: base, vocabSize: 800, seqLen: 32, batchSize: 16,
    modelConfig: { n_embd: 64, n_head: 4, n_layer: 2, n_positions: 64, dropout: 0 }, trainer: { steps: 400, lr: 8e-3, warmupSteps: 10 }, progress: false });
  console.log(`pretrain ${((Date.now() - t0) / 1000).toFixed(1)}s`);
}, 60_000);

describe('SFT on the built-in world task (small)', () => {
  it('full fine-tuning and LoRA both raise held-out exact match clearly above the base', () => {
    const live = memory().numBytes;
    const common = { init: base, data: train, eval: dev, batchSize: 16, pack: true, seqLen: 64, progress: false, samples: 3 };
    const t0 = Date.now();
    const full = runSft({ ...common, outDir: join(dir, 'full'), trainer: { steps: 60, lr: 2e-3, warmupSteps: 5 } });
    const t1 = Date.now();
    const lora = runSft({ ...common, outDir: join(dir, 'lora'), lora: { r: 8, alpha: 16, dropout: 0 }, trainer: { steps: 60, lr: 1e-2, warmupSteps: 5, weightDecay: 0 } });
    const t2 = Date.now();
    expect(memory().numBytes).toBe(live);
    for (const r of [full, lora])
      console.log(`${r.mode}: EM ${r.base!.exact_match.toFixed(3)} -> ${r.final!.exact_match.toFixed(3)}, loss ${r.base!.loss.toFixed(3)} -> ${r.final!.loss.toFixed(3)}, trainable ${r.trainableParameters}, ${JSON.stringify(r.samples)}`);
    console.log(`full ${(t1 - t0) / 1000}s, lora ${(t2 - t1) / 1000}s`);
    expect(full.base!.exact_match).toBeLessThan(0.1);
    expect(full.final!.exact_match).toBeGreaterThan(full.base!.exact_match + 0.25);
    expect(lora.final!.exact_match).toBeGreaterThan(lora.base!.exact_match + 0.25);
    expect(full.final!.loss).toBeLessThan(full.base!.loss);
    expect(lora.trainableParameters).toBeLessThan(full.trainableParameters / 4);
    for (const f of ['adapter_model.safetensors', 'adapter_config.json', 'model.safetensors', 'config.json', 'metrics.jsonl'])
      expect(existsSync(join(dir, 'lora', f))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'lora', 'adapter_config.json'), 'utf8')).peft_type).toBe('LORA');
  });

  it('lmtrain sft: LoRA run from the command line, JSON result; usage errors', async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { lines.push(a.join(' ')); });
    try {
      const code = await runSftCli(['--init', base, '--data', train, '--eval', dev, '--out', join(dir, 'cli'), '--lora', '4', '--lora-alpha', '8',
        '--pack', '--steps', '3', '--batch-size', '4', '--eval-examples', '2', '--json']);
      expect(code).toBe(0);
    } finally {
      log.mockRestore();
    }
    const r = JSON.parse(lines.join('\n'));
    expect(r).toMatchObject({ mode: 'lora', steps: 3, loraConfig: { r: 4, alpha: 8 } });
    expect(existsSync(join(dir, 'cli', 'adapter_model.safetensors'))).toBe(true);
    await expect(runSftCli(['--data', train, '--out', join(dir, 'x')])).rejects.toThrow(/--init is required/);
    await expect(runSftCli(['--init', base, '--data', train, '--out', join(dir, 'x'), '--bogus'])).rejects.toThrow(ArgumentError);
  });
});
