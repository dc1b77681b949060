// The CLI end to end, in process: pretrain -> eval -> generate, plus usage errors.
import { describe, expect, it, vi } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { generateWorld, worldCorpus } from '../../src/pipeline/world.js';
import { worldPreferences, pairsToFeedback } from '../../src/pipeline/preferences.js';
import { ArgumentError } from '../../src/index.js';

function capture(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { lines.push(a.join(' ')); });
  return fn().then((code) => { log.mockRestore(); return { code, out: lines.join('\n') }; }, (e) => { log.mockRestore(); throw e; });
}

describe('lmtrain CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmt-cli-'));
  const corpus = join(dir, 'c.txt');
  writeFileSync(corpus, worldCorpus(generateWorld(2, 8), { documents: 400 }).join('\n\n'));

  it('tokenizer train, pretrain, eval and generate', async () => {
    const tokPath = join(dir, 'tok.json');
    expect((await capture(() => main(['tokenizer', 'train', '--data', corpus, '--vocab-size', '300', '--out', tokPath]))).code).toBe(0);
    expect(JSON.parse(readFileSync(tokPath, 'utf8')).model.type).toBe('BPE');
    const out = join(dir, 'gpt');
    const r = await capture(() => main(['pretrain', '--model', 'gpt', '--data', corpus, '--out', out, '--tokenizer', tokPath, '--steps', '60', '--warmup', '5', '--lr', '0.005',
      '--dim', '32', '--heads', '2', '--layers', '1', '--seq-len', '32', '--batch-size', '4', '--json']));
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out);
    expect(res.steps).toBe(60);
    expect(res.valLoss).toBeLessThan(res.unigramLoss);
    const ev = await capture(() => main(['eval', '--model', out, '--data', corpus, '--json']));
    expect(JSON.parse(ev.out).loss).toBeGreaterThan(0);
    const g = await capture(() => main(['generate', '--model', out, '--prompt', 'The capital of', '--temperature', '0', '--max-new-tokens', '5']));
    expect(g.out.startsWith('The capital of')).toBe(true);
    expect(g.out.length).toBeGreaterThan('The capital of'.length);

    // Alignment commands on the same checkpoint, a few steps each: wiring, files and JSON output.
    const world = generateWorld(2, 8);
    const prefs = worldPreferences(world, { perFact: 1 });
    const prefsFile = join(dir, 'prefs.jsonl'), promptsFile = join(dir, 'prompts.jsonl');
    writeFileSync(prefsFile, prefs.train.map((p) => JSON.stringify(p)).join('\n'));
    writeFileSync(promptsFile, prefs.train.slice(0, 8).map((p) => JSON.stringify({ prompt: p.prompt })).join('\n'));
    for (const args of [
      ['dpo', '--init', out, '--data', prefsFile, '--eval', prefsFile, '--steps', '2', '--trainable', 'top-mlp', '--out', join(dir, 'dpo'), '--json'],
      ['kto', '--init', out, '--data', prefsFile.replace('prefs', 'fb'), '--steps', '2', '--out', join(dir, 'kto'), '--json'],
      ['reward', '--init', out, '--data', prefsFile, '--eval', prefsFile, '--steps', '2', '--trainable', 'top-mlp', '--out', join(dir, 'rm'), '--json'],
      ['ppo', '--init', out, '--reward', join(dir, 'rm'), '--prompts', promptsFile, '--iterations', '1', '--batch-size', '2', '--max-new-tokens', '4', '--out', join(dir, 'ppo'), '--json'],
      ['grpo', '--init', out, '--reward-fn', 'exact-answer', '--world-seed', '2', '--countries', '8', '--prompts', promptsFile, '--iterations', '1', '--batch-size', '1', '--group-size', '2', '--max-new-tokens', '4', '--trainable', 'ln_f', '--out', join(dir, 'grpo'), '--json'],
    ]) {
      if (args[0] === 'kto') writeFileSync(args[4], pairsToFeedback(prefs.train).map((f) => JSON.stringify(f)).join('\n'));
      const res = await capture(() => main(args));
      expect(res.code).toBe(0);
      expect(() => JSON.parse(res.out)).not.toThrow();
      expect(readFileSync(join(args[args.indexOf('--out') + 1], 'config.json'), 'utf8')).toContain('model_type');
    }
  }, 180_000);

  it('pretrain --builtin-world writes the world corpus and trains on it', async () => {
    const out = join(dir, 'world');
    const r = await capture(() => main(['pretrain', '--model', 'gpt', '--builtin-world', '--out', out, '--steps', '3', '--warmup', '1',
      '--dim', '16', '--heads', '2', '--layers', '1', '--seq-len', '16', '--batch-size', '2', '--vocab-size', '300', '--json']));
    expect(JSON.parse(r.out).steps).toBe(3);
    expect(readFileSync(join(out, 'world_corpus.txt'), 'utf8')).toMatch(/The capital of \w+ is \w+\./);
    await expect(main(['pretrain', '--model', 'gpt', '--builtin-world', '--data', corpus, '--out', join(dir, 'both')])).rejects.toThrow(/either --data or --builtin-world/);
  });

  it('rejects unknown commands and options, and missing arguments', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(await main(['frobnicate'])).toBe(2);
    err.mockRestore();
    await expect(main(['pretrain', '--bogus', '1'])).rejects.toThrow(ArgumentError);
    await expect(main(['pretrain', '--data', corpus, '--out', join(dir, 'x')])).rejects.toThrow(/--model is required/);
    await expect(main(['pretrain', '--model', 'rnn', '--data', corpus, '--out', join(dir, 'y')])).rejects.toThrow(/gpt, bert or t5/);
  });
});
