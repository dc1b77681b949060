/**
 * Module: a plain class whose parameters are found by walking its fields (tensors marked
 * with `param()`, child modules, arrays of modules), so layers need no registration code.
 * Names are the field paths joined by dots ("blocks.0.attn.qkv.weight"): the keys of
 * model.safetensors.
 */
import { ArgumentError, ShapeError } from '../errors.js';
import { assign } from '../ops/shape.js';
import { Tensor, type Device } from '../tensor/tensor.js';
import { keep } from '../tensor/scope.js';
import { noGrad } from '../autograd/graph.js';
import { tensor } from '../tensor/creation.js';
import { shapeStr } from '../tensor/shape.js';

const PARAMS = new WeakSet<Tensor>();

/** Marks t as a trainable parameter owned by a module (kept out of scopes). */
export function param(t: Tensor, name?: string): Tensor {
  keep(t);
  t.requiresGrad = true;
  if (name) t.name = name;
  PARAMS.add(t);
  return t;
}
export function isParam(t: unknown): t is Tensor {
  return t instanceof Tensor && PARAMS.has(t);
}

export interface StoredTensor { shape: readonly number[]; data: Float32Array | Int32Array }

export abstract class Module {
  training = true;

  /** Every parameter with its dotted name, in field order. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [k, v] of Object.entries(this)) {
      const name = prefix ? `${prefix}.${k}` : k;
      if (isParam(v)) out.push([name, v]);
      else if (v instanceof Module) out.push(...v.namedParameters(name));
      else if (Array.isArray(v)) v.forEach((m, i) => { if (m instanceof Module) out.push(...m.namedParameters(`${name}.${i}`)); });
    }
    return out;
  }
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }
  /** Parameters that receive gradients (frozen ones have requiresGrad = false). */
  trainableParameters(): Tensor[] {
    return this.parameters().filter((p) => p.requiresGrad);
  }
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }
  modules(): Module[] {
    const out: Module[] = [this];
    for (const v of Object.values(this)) {
      if (v instanceof Module) out.push(...v.modules());
      else if (Array.isArray(v)) v.forEach((m) => { if (m instanceof Module) out.push(...m.modules()); });
    }
    return out;
  }
  train(on = true): this {
    for (const m of this.modules()) m.training = on;
    return this;
  }
  eval(): this {
    return this.train(false);
  }
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedParameters());
  }
  /** Copies stored values into the parameters; strict: every name on both sides must match. */
  loadStateDict(state: Map<string, StoredTensor> | Record<string, StoredTensor>, opts: { strict?: boolean } = {}): void {
    const map = state instanceof Map ? state : new Map(Object.entries(state));
    const strict = opts.strict ?? true;
    const names = new Set<string>();
    for (const [name, p] of this.namedParameters()) {
      names.add(name);
      const s = map.get(name);
      if (!s) {
        if (strict) throw new ShapeError(`loadStateDict: missing parameter '${name}' ${shapeStr(p.shape)}`);
        continue;
      }
      if (s.shape.length !== p.shape.length || s.shape.some((d, i) => d !== p.shape[i]))
        throw new ShapeError(`loadStateDict: '${name}' is ${shapeStr(s.shape)} in the state, ${shapeStr(p.shape)} in the model`);
      const src = s instanceof Tensor ? s.to(p.device) : tensor(s.data instanceof Float32Array ? s.data : Float32Array.from(s.data), p.shape, 'float32', p.device);
      assign(p, src);
      if ((src as unknown) !== s) src.dispose();
    }
    if (strict) {
      const extra = [...map.keys()].filter((k) => !names.has(k));
      if (extra.length) throw new ShapeError(`loadStateDict: unexpected parameters ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', ...' : ''}`);
    }
  }
  /**
   * Moves every parameter to `device` in place (the module's fields then hold the new
   * tensors; a parameter shared by two fields stays shared; frozen ones stay frozen). Build
   * the optimizer after this. Returns this.
   */
  to(device: Device): this {
    const moved = new Map<Tensor, Tensor>();
    noGrad(() => {
      for (const m of this.modules()) {
        for (const [k, v] of Object.entries(m)) {
          if (!isParam(v) || v.device === device) continue;
          let nt = moved.get(v);
          if (!nt) {
            nt = param(v.to(device), v.name);
            nt.requiresGrad = v.requiresGrad;
            moved.set(v, nt);
          }
          (m as unknown as Record<string, unknown>)[k] = nt;
        }
      }
    });
    for (const old of moved.keys()) old.dispose();
    return this;
  }
  /** The device of the parameters ('cpu' for a module without any). */
  get device(): Device {
    return this.parameters()[0]?.device ?? 'cpu';
  }
  /** Frees every parameter (and its gradient). */
  dispose(): void {
    for (const p of this.parameters()) p.dispose();
  }
}

export function checkPositiveInt(v: number, what: string): void {
  if (!Number.isInteger(v) || v <= 0) throw new ArgumentError(`${what} must be a positive integer, got ${v}`);
}
