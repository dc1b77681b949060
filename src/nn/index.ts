export { Module, param, isParam } from './module.js';
export { Linear, Embedding, LayerNorm, RMSNorm, Dropout, MLP } from './layers.js';
export { CausalSelfAttention, KVCache, LayerKV } from './attention.js';
export { SelfAttention } from './self_attention.js';
