/** The basic layers: Linear, Embedding, LayerNorm, RMSNorm, Dropout, MLP. */
import { Module, param, checkPositiveInt } from './module.js';
import { Tensor } from '../tensor/tensor.js';
import { randn, zeros, ones } from '../tensor/creation.js';
import { add } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { reshape } from '../ops/shape.js';
import { layernorm, rmsnorm } from '../ops/layernorm.js';
import { embedding } from '../ops/embedding.js';
import { dropout } from '../ops/dropout.js';
import { gelu } from '../ops/gelu.js';
import { ShapeError } from '../errors.js';
import { shapeStr } from '../tensor/shape.js';

/** y = x W^T + b with W stored (out, in), as PyTorch. */
export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean; std?: number } = {}) {
    super();
    checkPositiveInt(inFeatures, 'Linear: inFeatures');
    checkPositiveInt(outFeatures, 'Linear: outFeatures');
    this.weight = param(randn([outFeatures, inFeatures], { std: opts.std ?? 0.02 }));
    this.bias = opts.bias === false ? null : param(zeros([outFeatures]));
  }
  forward(x: Tensor): Tensor {
    if (x.shape[x.ndim - 1] !== this.inFeatures)
      throw new ShapeError(`Linear(${this.inFeatures}, ${this.outFeatures}): input ${shapeStr(x.shape)} must end in ${this.inFeatures}`);
    const lead = x.shape.slice(0, -1);
    const x2 = x.ndim === 2 ? x : reshape(x, [-1, this.inFeatures]);
    let y = matmul(x2, this.weight, { transB: true });
    if (this.bias) y = add(y, this.bias);
    return x.ndim === 2 ? y : reshape(y, [...lead, this.outFeatures]);
  }
}

export class Embedding extends Module {
  weight: Tensor;
  constructor(readonly numEmbeddings: number, readonly dim: number, opts: { std?: number } = {}) {
    super();
    checkPositiveInt(numEmbeddings, 'Embedding: numEmbeddings');
    checkPositiveInt(dim, 'Embedding: dim');
    this.weight = param(randn([numEmbeddings, dim], { std: opts.std ?? 0.02 }));
  }
  forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight);
  }
}

export class LayerNorm extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(readonly dim: number, readonly eps = 1e-5, opts: { bias?: boolean } = {}) {
    super();
    this.weight = param(ones([dim]));
    this.bias = opts.bias === false ? null : param(zeros([dim]));
  }
  forward(x: Tensor): Tensor {
    return layernorm(x, this.weight, this.bias, this.eps);
  }
}

export class RMSNorm extends Module {
  weight: Tensor;
  constructor(readonly dim: number, readonly eps = 1e-6) {
    super();
    this.weight = param(ones([dim]));
  }
  forward(x: Tensor): Tensor {
    return rmsnorm(x, this.weight, this.eps);
  }
}

export class Dropout extends Module {
  constructor(readonly p: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.p > 0 && this.training ? dropout(x, this.p, true) : x;
  }
}

/** GPT-2 MLP: fc (C -> 4C), GELU, proj (4C -> C), dropout. */
export class MLP extends Module {
  fc: Linear;
  proj: Linear;
  drop: Dropout;
  constructor(dim: number, hidden: number, opts: { dropout?: number; projStd?: number } = {}) {
    super();
    this.fc = new Linear(dim, hidden);
    this.proj = new Linear(hidden, dim, { std: opts.projStd });
    this.drop = new Dropout(opts.dropout ?? 0);
  }
  forward(x: Tensor): Tensor {
    return this.drop.forward(this.proj.forward(gelu(this.fc.forward(x))));
  }
}

