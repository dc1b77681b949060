/**
 * LoRA (Hu et al. 2021): a frozen Linear plus a trainable low-rank update,
 *   y = x W^T + b + (alpha / r) * dropout(x) A^T B^T,   A (r, in), B (out, r)
 * A starts as PEFT's default (kaiming-uniform, a = sqrt(5): U(-1/sqrt(in), 1/sqrt(in))) and
 * B at zero, so an adapted model starts out computing exactly what the base computes.
 *
 * Names follow PEFT so adapters interoperate: a wrapped layer keeps `weight`/`bias` under
 * its own name and adds `<name>.lora_A.weight` / `<name>.lora_B.weight`; the adapter file
 * stores them as `base_model.model.<name>.lora_{A,B}.weight` next to an adapter_config.json
 * with peft_type LORA. Target modules match by name suffix, as PEFT's list form does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Module } from './module.js';
import { Dropout, Linear } from './layers.js';
import { Tensor, type Device } from '../tensor/tensor.js';
import { tensor, uniform, zeros } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import { noGrad } from '../autograd/graph.js';
import { add, scale } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { assign, reshape } from '../ops/shape.js';
import { ArgumentError, DataError, ShapeError } from '../errors.js';
import { shapeStr } from '../tensor/shape.js';
import { readSafetensors, safetensorsFromTensors, writeFileAtomic, writeSafetensors } from '../io/safetensors.js';

export interface LoraConfig {
  /** Rank of the update. */
  r: number;
  /** The update is scaled by alpha / r, so alpha sets its size independently of r. */
  alpha: number;
  /** Dropout on the adapter's input only (the base path is untouched). */
  dropout: number;
  /** Linear layers to adapt, by name suffix ("attn.qkv" matches "blocks.3.attn.qkv"). */
  targetModules: string[];
}

/** Every Linear of a GPT block. */
export const DEFAULT_LORA_TARGETS = ['attn.qkv', 'attn.proj', 'mlp.fc', 'mlp.proj'];
export const defaultLoraConfig: LoraConfig = { r: 8, alpha: 16, dropout: 0.05, targetModules: DEFAULT_LORA_TARGETS };
export const ADAPTER_FILES = { weights: 'adapter_model.safetensors', config: 'adapter_config.json' } as const;

export class LoRALinear extends Module {
  weight: Tensor;
  bias: Tensor | null;
  lora_A: Linear;
  lora_B: Linear;
  lora_dropout: Dropout;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly scaling: number;

  /** Wraps `base`, sharing (not copying) its weight and bias. */
  constructor(base: Linear, cfg: Pick<LoraConfig, 'r' | 'alpha' | 'dropout'>) {
    super();
    checkLoraConfig(cfg);
    this.inFeatures = base.inFeatures;
    this.outFeatures = base.outFeatures;
    this.weight = base.weight;
    this.bias = base.bias;
    this.lora_A = new Linear(this.inFeatures, cfg.r, { bias: false });
    this.lora_B = new Linear(cfg.r, this.outFeatures, { bias: false });
    const bound = 1 / Math.sqrt(this.inFeatures);
    tidy(() => {
      assign(this.lora_A.weight, uniform([cfg.r, this.inFeatures], -bound, bound));
      assign(this.lora_B.weight, zeros([this.outFeatures, cfg.r]));
    });
    this.lora_dropout = new Dropout(cfg.dropout);
    this.scaling = cfg.alpha / cfg.r;
  }

  forward(x: Tensor): Tensor {
    if (x.shape[x.ndim - 1] !== this.inFeatures)
      throw new ShapeError(`LoRALinear(${this.inFeatures}, ${this.outFeatures}): input ${shapeStr(x.shape)} must end in ${this.inFeatures}`);
    const lead = x.shape.slice(0, -1);
    const x2 = x.ndim === 2 ? x : reshape(x, [-1, this.inFeatures]);
    let y = matmul(x2, this.weight, { transB: true });
    if (this.bias) y = add(y, this.bias);
    const update = this.lora_B.forward(this.lora_A.forward(this.lora_dropout.forward(x2)));
    y = add(y, scale(update, this.scaling));
    return x.ndim === 2 ? y : reshape(y, [...lead, this.outFeatures]);
  }

  /** W + (alpha/r) B A: what this layer computes once merged (eval mode, no dropout). */
  mergedWeight(): Tensor {
    return add(this.weight, scale(matmul(this.lora_B.weight, this.lora_A.weight), this.scaling));
  }
}

export function checkLoraConfig(cfg: Partial<LoraConfig>): void {
  if (!Number.isInteger(cfg.r) || cfg.r! <= 0) throw new ArgumentError(`LoRA: r must be a positive integer, got ${cfg.r}`);
  if (typeof cfg.alpha !== 'number' || !(cfg.alpha > 0)) throw new ArgumentError(`LoRA: alpha must be a positive number, got ${cfg.alpha}`);
  if (typeof cfg.dropout !== 'number' || !(cfg.dropout >= 0 && cfg.dropout < 1)) throw new ArgumentError(`LoRA: dropout must be in [0, 1), got ${cfg.dropout}`);
}

const matches = (name: string, targets: readonly string[]): boolean => targets.some((t) => name === t || name.endsWith(`.${t}`));

type Slot = { owner: Record<string, unknown>; key: string | number; name: string; value: unknown };
/** Every field slot of the module tree holding a Module, with its dotted name. */
function slots(m: Module, prefix = ''): Slot[] {
  const out: Slot[] = [];
  for (const [k, v] of Object.entries(m)) {
    const name = prefix ? `${prefix}.${k}` : k;
    if (v instanceof Module) {
      out.push({ owner: m as unknown as Record<string, unknown>, key: k, name, value: v });
      if (!(v instanceof LoRALinear)) out.push(...slots(v, name));
    } else if (Array.isArray(v)) {
      v.forEach((c, i) => {
        if (!(c instanceof Module)) return;
        out.push({ owner: v as unknown as Record<string, unknown>, key: i, name: `${name}.${i}`, value: c });
        out.push(...slots(c, `${name}.${i}`));
      });
    }
  }
  return out;
}

/**
 * Wraps every Linear whose name matches a target in a LoRALinear and freezes everything
 * else (requiresGrad = false), so trainableParameters() is the adapters only. Returns the
 * names of the adapted layers.
 */
export function applyLora(model: Module, cfg: LoraConfig): string[] {
  checkLoraConfig(cfg);
  if (!Array.isArray(cfg.targetModules) || cfg.targetModules.length === 0 || cfg.targetModules.some((t) => typeof t !== 'string' || t === ''))
    throw new ArgumentError('LoRA: targetModules must be a non-empty list of module names');
  const all = slots(model);
  if (all.some((s) => s.value instanceof LoRALinear)) throw new ArgumentError('LoRA: this model already has adapters (merge or use a fresh model)');
  const hits = all.filter((s) => s.value instanceof Linear && matches(s.name, cfg.targetModules));
  if (hits.length === 0) {
    const linears = all.filter((s) => s.value instanceof Linear).map((s) => s.name);
    throw new ArgumentError(`LoRA: no Linear layer matches targetModules ${JSON.stringify(cfg.targetModules)}; layers are e.g. ${linears.slice(0, 6).join(', ')}`);
  }
  for (const p of model.parameters()) p.requiresGrad = false;
  for (const s of hits) {
    const lora = new LoRALinear(s.value as Linear, cfg);
    s.owner[s.key] = lora;
    lora.lora_A.weight.requiresGrad = true;
    lora.lora_B.weight.requiresGrad = true;
  }
  return hits.map((s) => s.name);
}

/** The adapter parameters with their names (`blocks.0.attn.qkv.lora_A.weight`, ...). */
export function loraParameters(model: Module): [string, Tensor][] {
  return model.namedParameters().filter(([n]) => /\.lora_[AB]\.weight$/.test(n));
}

/**
 * Folds every adapter into its base weight (W += (alpha/r) B A), puts plain Linear layers
 * back and unfreezes the model: the result saves as an ordinary checkpoint. Returns the
 * number of layers merged.
 */
export function mergeLora(model: Module): number {
  const hits = slots(model).filter((s) => s.value instanceof LoRALinear);
  noGrad(() => {
    for (const s of hits) {
      const l = s.value as LoRALinear;
      tidy(() => assign(l.weight, l.mergedWeight()));
      const lin = new Linear(l.inFeatures, l.outFeatures, { bias: l.bias !== null });
      lin.weight.dispose();
      lin.bias?.dispose();
      lin.weight = l.weight;
      lin.bias = l.bias;
      l.lora_A.dispose();
      l.lora_B.dispose();
      s.owner[s.key] = lin;
    }
  });
  for (const p of model.parameters()) p.requiresGrad = true;
  return hits.length;
}

/** The PEFT adapter_config.json for `cfg`. */
export function peftConfig(cfg: LoraConfig, baseModel = ''): Record<string, unknown> {
  return {
    peft_type: 'LORA', task_type: 'CAUSAL_LM', r: cfg.r, lora_alpha: cfg.alpha, lora_dropout: cfg.dropout,
    target_modules: [...cfg.targetModules], bias: 'none', fan_in_fan_out: false, inference_mode: true,
    init_lora_weights: true, base_model_name_or_path: baseModel,
  };
}

/** Writes adapter_model.safetensors + adapter_config.json (PEFT layout) into `dir`. */
export function saveLoraAdapter(model: Module, dir: string, cfg: LoraConfig, opts: { baseModel?: string } = {}): void {
  const params = loraParameters(model);
  if (params.length === 0) throw new ArgumentError('saveLoraAdapter: the model has no LoRA adapters');
  const tensors = safetensorsFromTensors(Object.fromEntries(params.map(([n, t]) => [`base_model.model.${n}`, t])));
  writeSafetensors(join(dir, ADAPTER_FILES.weights), tensors, { format: 'pt' });
  writeFileAtomic(join(dir, ADAPTER_FILES.config), `${JSON.stringify(peftConfig(cfg, opts.baseModel), null, 2)}\n`);
}

/** Reads an adapter_config.json (PEFT) into a LoraConfig, strictly. */
export function readLoraConfig(dir: string): LoraConfig {
  const file = join(dir, ADAPTER_FILES.config);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new DataError(`cannot read the adapter config: ${(e as Error).message}`, file);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new DataError('expected a JSON object', file);
  if (raw.peft_type !== 'LORA') throw new DataError(`peft_type is ${JSON.stringify(raw.peft_type)}, expected "LORA"`, file);
  const t = raw.target_modules;
  if (!Array.isArray(t) || t.some((x) => typeof x !== 'string'))
    throw new DataError('target_modules must be a list of module names (the regex string form is not supported)', file);
  const cfg: LoraConfig = { r: raw.r as number, alpha: raw.lora_alpha as number, dropout: (raw.lora_dropout as number | undefined) ?? 0, targetModules: t as string[] };
  try {
    checkLoraConfig(cfg);
  } catch (e) {
    throw new DataError((e as Error).message, file);
  }
  return cfg;
}

/** Adds the adapters saved in `dir` to `model` (applyLora + load). Returns their config. */
export function loadLoraAdapter(model: Module, dir: string): LoraConfig {
  const cfg = readLoraConfig(dir);
  const file = join(dir, ADAPTER_FILES.weights);
  const st = readSafetensors(file).tensors;
  applyLora(model, cfg);
  const seen = new Set<string>();
  for (const [name, p] of loraParameters(model)) {
    const key = `base_model.model.${name}`;
    const s = st.get(key);
    if (!s) throw new DataError(`missing adapter tensor '${key}'`, file);
    if (s.shape.length !== p.ndim || s.shape.some((d, i) => d !== p.shape[i]))
      throw new DataError(`'${key}' is ${shapeStr(s.shape)} in the file, ${shapeStr(p.shape)} in the model`, file);
    tidy(() => assign(p, fromStored(s.data, p.shape, p.device)));
    seen.add(key);
  }
  const extra = [...st.keys()].filter((k) => !seen.has(k));
  if (extra.length) throw new DataError(`unexpected adapter tensors ${extra.slice(0, 3).join(', ')} (does the base model match?)`, file);
  return cfg;
}

function fromStored(data: Float32Array | Int32Array, shape: readonly number[], device: Device): Tensor {
  return tensor(data instanceof Float32Array ? data : Float32Array.from(data), shape, 'float32', device);
}
