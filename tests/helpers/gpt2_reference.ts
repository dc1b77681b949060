/**
 * Plain float64 GPT-2 forwards, one per weight layout, for checking the HF import:
 *   hfGpt2Logits:     Hugging Face names, Conv1D weights (in, out), y = x @ W + b
 *   lmtrainGptLogits: lmtrain names (src/models/config.ts), Linear weights (out, in), y = x @ W^T + b
 * Both: learned positions, pre-LayerNorm blocks, fused qkv split [q | k | v], causal softmax
 * attention, GELU (tanh form), LM head tied to wte. One sequence, logits (T, V) row-major.
 */
export interface RefTensor { shape: readonly number[]; data: ArrayLike<number> }
export type RefWeights = Map<string, RefTensor> | Record<string, RefTensor>;
export interface RefConfig { vocab_size: number; n_layer: number; n_head: number; n_embd: number; layer_norm_epsilon: number }

function getter(w: RefWeights): (k: string) => ArrayLike<number> {
  return (k) => {
    const t = w instanceof Map ? w.get(k) : Object.prototype.hasOwnProperty.call(w, k) ? w[k] : undefined;
    if (!t) throw new Error(`reference: missing weight ${k}`);
    return t.data;
  };
}

function layerNorm(x: Float64Array, T: number, C: number, w: ArrayLike<number>, b: ArrayLike<number>, eps: number): Float64Array {
  const out = new Float64Array(T * C);
  for (let t = 0; t < T; t++) {
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x[t * C + c];
    mean /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[t * C + c] - mean) ** 2;
    const rstd = 1 / Math.sqrt(v / C + eps);
    for (let c = 0; c < C; c++) out[t * C + c] = (x[t * C + c] - mean) * rstd * w[c] + b[c];
  }
  return out;
}

const gelu = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/** qkv (T, 3C) -> y (T, C) */
function causalAttention(qkv: Float64Array, T: number, C: number, NH: number): Float64Array {
  const HS = C / NH, y = new Float64Array(T * C), scale = 1 / Math.sqrt(HS);
  for (let h = 0; h < NH; h++) {
    for (let t = 0; t < T; t++) {
      const s = new Float64Array(t + 1);
      let max = -Infinity;
      for (let u = 0; u <= t; u++) {
        let d = 0;
        for (let i = 0; i < HS; i++) d += qkv[t * 3 * C + h * HS + i] * qkv[u * 3 * C + C + h * HS + i];
        s[u] = d * scale;
        max = Math.max(max, s[u]);
      }
      let z = 0;
      for (let u = 0; u <= t; u++) z += (s[u] = Math.exp(s[u] - max));
      for (let u = 0; u <= t; u++)
        for (let i = 0; i < HS; i++) y[t * C + h * HS + i] += (s[u] / z) * qkv[u * 3 * C + 2 * C + h * HS + i];
    }
  }
  return y;
}

type Affine = (x: Float64Array, T: number, nIn: number, nOut: number, w: ArrayLike<number>, b: ArrayLike<number>) => Float64Array;

/** HF Conv1D: W (in, out). */
const conv1d: Affine = (x, T, nIn, nOut, w, b) => {
  const y = new Float64Array(T * nOut);
  for (let t = 0; t < T; t++)
    for (let o = 0; o < nOut; o++) {
      let s = b[o];
      for (let i = 0; i < nIn; i++) s += x[t * nIn + i] * w[i * nOut + o];
      y[t * nOut + o] = s;
    }
  return y;
};
/** lmtrain Linear: W (out, in). */
const linear: Affine = (x, T, nIn, nOut, w, b) => {
  const y = new Float64Array(T * nOut);
  for (let t = 0; t < T; t++)
    for (let o = 0; o < nOut; o++) {
      let s = b[o];
      for (let i = 0; i < nIn; i++) s += x[t * nIn + i] * w[o * nIn + i];
      y[t * nOut + o] = s;
    }
  return y;
};

interface Names { wte: string; wpe: string; lnf: string; block(i: number): { ln1: string; qkv: string; proj: string; ln2: string; fc: string; mproj: string } }

function forward(get: (k: string) => ArrayLike<number>, cfg: RefConfig, ids: readonly number[], names: Names, affine: Affine): Float64Array {
  const T = ids.length, C = cfg.n_embd, V = cfg.vocab_size, eps = cfg.layer_norm_epsilon;
  const wte = get(names.wte), wpe = get(names.wpe);
  let x = new Float64Array(T * C);
  for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) x[t * C + c] = wte[ids[t] * C + c] + wpe[t * C + c];
  for (let l = 0; l < cfg.n_layer; l++) {
    const n = names.block(l);
    const qkv = affine(layerNorm(x, T, C, get(n.ln1 + '.weight'), get(n.ln1 + '.bias'), eps), T, C, 3 * C, get(n.qkv + '.weight'), get(n.qkv + '.bias'));
    const a = affine(causalAttention(qkv, T, C, cfg.n_head), T, C, C, get(n.proj + '.weight'), get(n.proj + '.bias'));
    x = x.map((v, i) => v + a[i]);
    const f = affine(layerNorm(x, T, C, get(n.ln2 + '.weight'), get(n.ln2 + '.bias'), eps), T, C, 4 * C, get(n.fc + '.weight'), get(n.fc + '.bias')).map(gelu);
    const m = affine(f, T, 4 * C, C, get(n.mproj + '.weight'), get(n.mproj + '.bias'));
    x = x.map((v, i) => v + m[i]);
  }
  const h = layerNorm(x, T, C, get(names.lnf + '.weight'), get(names.lnf + '.bias'), eps);
  const logits = new Float64Array(T * V);
  for (let t = 0; t < T; t++)
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += h[t * C + c] * wte[v * C + c];
      logits[t * V + v] = s;
    }
  return logits;
}

/** Logits from Hugging Face GPT-2 weights; `prefix` is 'transformer.' for GPT2LMHeadModel files. */
export function hfGpt2Logits(w: RefWeights, cfg: RefConfig, ids: readonly number[], prefix = 'transformer.'): Float64Array {
  const p = prefix;
  return forward(getter(w), cfg, ids, {
    wte: p + 'wte.weight', wpe: p + 'wpe.weight', lnf: p + 'ln_f',
    block: (i) => ({ ln1: `${p}h.${i}.ln_1`, qkv: `${p}h.${i}.attn.c_attn`, proj: `${p}h.${i}.attn.c_proj`, ln2: `${p}h.${i}.ln_2`, fc: `${p}h.${i}.mlp.c_fc`, mproj: `${p}h.${i}.mlp.c_proj` }),
  }, conv1d);
}

/** Logits from lmtrain-layout GPT weights. */
export function lmtrainGptLogits(w: RefWeights, cfg: RefConfig, ids: readonly number[]): Float64Array {
  return forward(getter(w), cfg, ids, {
    wte: 'wte.weight', wpe: 'wpe.weight', lnf: 'ln_f',
    block: (i) => ({ ln1: `blocks.${i}.ln1`, qkv: `blocks.${i}.attn.qkv`, proj: `blocks.${i}.attn.proj`, ln2: `blocks.${i}.ln2`, fc: `blocks.${i}.mlp.fc`, mproj: `blocks.${i}.mlp.proj` }),
  }, linear);
}
