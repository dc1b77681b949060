/** Every op, and the late binding of the helpers autograd needs. */
import { gradHelpers } from '../autograd/graph.js';
import { onesLike } from '../tensor/creation.js';
import { addInto } from './elementwise.js';
import { clone, reshape } from './shape.js';

gradHelpers.onesLike = onesLike;
gradHelpers.addInto = addInto;
gradHelpers.reshape = reshape;
gradHelpers.clone = clone;

export * from './elementwise.js';
export * from './reduce.js';
export * from './shape.js';
export * from './matmul.js';
export * from './softmax.js';
export * from './layernorm.js';
export * from './gelu.js';
export * from './embedding.js';
export * from './cross_entropy.js';
export * from './attention.js';
export * from './dropout.js';
