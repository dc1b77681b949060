/**
 * AdamW with decoupled weight decay, one fused native call over the whole parameter set.
 * The decay rule lives here once: matrices (ndim >= 2) decay; biases and norm gains
 * (ndim < 2) do not, unless `decay` says otherwise per parameter.
 */
import { native } from '../native/binding.js';
import { ArgumentError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { zeros } from '../tensor/creation.js';
import { keep } from '../tensor/scope.js';

export interface AdamWConfig {
  /** Learning rate (default 3e-4). */
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay (default 0.1), applied where `shouldDecay` is true. */
  weightDecay?: number;
  /** Overrides the default rule (ndim >= 2). */
  shouldDecay?: (p: Tensor) => boolean;
}

export class AdamW {
  readonly params: Tensor[];
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  step = 0;
  readonly m: Tensor[];
  readonly v: Tensor[];
  private readonly decay: boolean[];

  constructor(params: Tensor[], cfg: AdamWConfig = {}) {
    if (!Array.isArray(params) || params.some((p) => !(p instanceof Tensor) || p.dtype !== 'float32'))
      throw new ArgumentError('AdamW: params must be an array of float32 tensors');
    this.params = params;
    this.lr = cfg.lr ?? 3e-4;
    this.beta1 = cfg.beta1 ?? 0.9;
    this.beta2 = cfg.beta2 ?? 0.95;
    this.eps = cfg.eps ?? 1e-8;
    this.weightDecay = cfg.weightDecay ?? 0.1;
    for (const [k, v] of Object.entries({ lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay }))
      if (!Number.isFinite(v) || v < 0) throw new ArgumentError(`AdamW: ${k} must be a finite non-negative number, got ${v}`);
    if (this.beta1 >= 1 || this.beta2 >= 1) throw new ArgumentError('AdamW: betas must be < 1');
    const rule = cfg.shouldDecay ?? ((p: Tensor) => p.ndim >= 2);
    this.decay = params.map(rule);
    this.m = params.map((p) => keep(zeros(p.shape, 'float32', p.device)));
    this.v = params.map((p) => keep(zeros(p.shape, 'float32', p.device)));
  }

  /** One update from the parameters' `.grad` (parameters without a grad are skipped). */
  stepUpdate(opts: { gradScale?: number } = {}): void {
    const idx = this.params.map((p, i) => (p.grad ? i : -1)).filter((i) => i >= 0);
    this.step++;
    if (idx.length === 0) return;
    native.adamwStep(
      idx.map((i) => this.params[i].h), idx.map((i) => this.m[i].h), idx.map((i) => this.v[i].h),
      idx.map((i) => this.params[i].grad!.h), idx.map((i) => this.decay[i]),
      this.lr, this.beta1, this.beta2, this.eps, this.weightDecay, this.step, opts.gradScale ?? 1,
    );
  }

  /** Frees the parameters' gradients (the next backward starts from zero). */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  dispose(): void {
    this.m.forEach((t) => t.dispose());
    this.v.forEach((t) => t.dispose());
  }
}
