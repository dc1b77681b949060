/** lmtrain: train transformer language models from TypeScript on native kernels. */
export * from './errors.js';
export { Tensor, type DType, type Device } from './tensor/tensor.js';
export { tidy, keep, dispose, memory, type MemoryInfo } from './tensor/scope.js';
export { tensor, scalar, zeros, ones, full, zerosLike, onesLike, randn, uniform, arange } from './tensor/creation.js';
export { manualSeed, getRngState, setRngState, type RngState } from './tensor/random.js';
export { backward, noGrad, isGradEnabled, disposeGraph, differentiableOps } from './autograd/graph.js';
export { gradcheck } from './autograd/gradcheck.js';
export * as ops from './ops/index.js';
export * from './ops/index.js';
export { AdamW, type AdamWConfig } from './optim/adamw.js';
export { clipGradNorm, gradNorm } from './optim/clip.js';
export { info, setNumThreads } from './info.js';
