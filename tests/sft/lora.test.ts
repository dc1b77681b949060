// LoRA: frozen base, adapters only train, PEFT files round-trip, merging changes nothing.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT } from '../../src/models/gpt.js';
import { tensor } from '../../src/tensor/creation.js';
import { tidy } from '../../src/tensor/scope.js';
import { manualSeed } from '../../src/tensor/random.js';
import { backward } from '../../src/autograd/graph.js';
import { AdamW } from '../../src/optim/adamw.js';
import { memory } from '../../src/index.js';
import { applyLora, mergeLora, saveLoraAdapter, loadLoraAdapter, loraParameters, LoRALinear, type LoraConfig } from '../../src/nn/lora.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { ArgumentError } from '../../src/errors.js';

const cfgModel = { vocab_size: 40, n_embd: 32, n_head: 4, n_layer: 2, n_positions: 16, dropout: 0 };
const lcfg: LoraConfig = { r: 4, alpha: 8, dropout: 0, targetModules: ['attn.qkv', 'attn.proj', 'mlp.fc', 'mlp.proj'] };
const ids = Int32Array.from([1, 5, 9, 2, 7, 3, 3, 8, 11, 4]);
const logits = (m: GPT) => tidy(() => { m.eval(); const l = m.forward(tensor(ids, [2, 5])).toArray(); m.train(); return l; });
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

function trainSteps(m: GPT, n: number): void {
  const opt = new AdamW(m.trainableParameters(), { lr: 1e-2, weightDecay: 0 });
  for (let s = 0; s < n; s++) {
    tidy(() => backward(m.loss(tensor(ids, [2, 5]), tensor(Int32Array.from([5, 9, 2, 7, 3, 3, 8, 11, 4, 1]), [2, 5]))));
    opt.stepUpdate();
    opt.zeroGrad();
  }
  opt.dispose();
}

describe('LoRA', () => {
  it('starts as the base, trains only the adapters, and merges into the same function', () => {
    manualSeed(1);
    const m = new GPT(cfgModel);
    const base = logits(m);
    const names = applyLora(m, lcfg);
    expect(names).toEqual(['blocks.0.attn.qkv', 'blocks.0.attn.proj', 'blocks.0.mlp.fc', 'blocks.0.mlp.proj', 'blocks.1.attn.qkv', 'blocks.1.attn.proj', 'blocks.1.mlp.fc', 'blocks.1.mlp.proj']);
    expect(maxDiff(logits(m), base)).toBe(0); // B = 0
    const trainable = m.trainableParameters();
    expect(trainable.length).toBe(16);
    expect(trainable.reduce((s, p) => s + p.size, 0)).toBe(2 * (4 * (32 + 96) + 4 * (32 + 32) + 4 * (32 + 128) + 4 * (128 + 32)));
    const before = new Map(m.namedParameters().map(([n, p]) => [n, p.toArray()]));
    trainSteps(m, 5);
    for (const [n, p] of m.namedParameters()) {
      const changed = maxDiff(p.toArray(), before.get(n)!) > 0;
      expect([n, changed]).toEqual([n, /\.lora_[AB]\.weight$/.test(n)]);
    }
    const adapted = logits(m);
    expect(maxDiff(adapted, base)).toBeGreaterThan(1e-4);
    expect(mergeLora(m)).toBe(8);
    expect(m.modules().some((x) => x instanceof LoRALinear)).toBe(false);
    const plain = new GPT(cfgModel);
    expect(Object.keys(m.stateDict())).toEqual(Object.keys(plain.stateDict()));
    plain.dispose();
    expect(maxDiff(logits(m), adapted)).toBeLessThan(1e-5);
    m.dispose();
  });

  it('saves in the PEFT layout and loads back to the same logits', () => {
    manualSeed(2);
    const dir = mkdtempSync(join(tmpdir(), 'lmt-lora-'));
    const m = new GPT(cfgModel);
    const state = Object.fromEntries(m.namedParameters().map(([n, p]) => [n, { shape: [...p.shape], data: p.toArray() }]));
    applyLora(m, { ...lcfg, targetModules: ['attn.qkv', 'mlp.proj'] });
    trainSteps(m, 3);
    const want = logits(m);
    saveLoraAdapter(m, dir, { ...lcfg, targetModules: ['attn.qkv', 'mlp.proj'] });
    const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 4, lora_alpha: 8, lora_dropout: 0, target_modules: ['attn.qkv', 'mlp.proj'] });
    const keys = [...readSafetensors(join(dir, 'adapter_model.safetensors')).tensors.keys()].sort();
    expect(keys).toContain('base_model.model.blocks.0.attn.qkv.lora_A.weight');
    expect(keys).toContain('base_model.model.blocks.1.mlp.proj.lora_B.weight');
    expect(keys).toHaveLength(8);
    expect(readSafetensors(join(dir, 'adapter_model.safetensors')).tensors.get('base_model.model.blocks.0.attn.qkv.lora_B.weight')!.shape).toEqual([96, 4]);
    const live = memory().numBytes;
    const fresh = new GPT(cfgModel);
    fresh.loadStateDict(state);
    loadLoraAdapter(fresh, dir);
    expect(loraParameters(fresh)).toHaveLength(8);
    expect(maxDiff(logits(fresh), want)).toBeLessThan(1e-6);
    fresh.dispose();
    expect(memory().numBytes).toBe(live);
    m.dispose();
  });

  it('rejects bad configs and targets that match nothing', () => {
    const m = new GPT(cfgModel);
    expect(() => applyLora(m, { ...lcfg, r: 0 })).toThrow(/r must be/);
    expect(() => applyLora(m, { ...lcfg, targetModules: ['attn.nope'] })).toThrow(/no Linear layer matches/);
    applyLora(m, lcfg);
    expect(() => applyLora(m, lcfg)).toThrow(ArgumentError);
    m.dispose();
  });
});
