/** Float64 reference ops on flat arrays: the plain definitions the kernels are checked against. */
export type Arr = ArrayLike<number>;

/** max|got-ref| / max(max|ref|, 1e-30); NaN in got (where ref is finite) is Infinity. */
export function maxRelErr(got: Arr, ref: Arr): number {
  if (got.length !== ref.length) return Infinity;
  let md = 0, mr = 0;
  for (let i = 0; i < ref.length; i++) {
    const g = got[i], r = ref[i];
    if (!Number.isFinite(r)) { if (g !== r) return Infinity; continue; }
    if (!Number.isFinite(g)) return Infinity;
    md = Math.max(md, Math.abs(g - r));
    mr = Math.max(mr, Math.abs(r));
  }
  return md / Math.max(mr, 1e-30);
}

/**
 * max_i |got_i - ref_i| / scale_i, where scale_i bounds the magnitude of the terms summed into
 * ref_i (for a dot product: sum |a_k b_k|). Float32 accumulation error is proportional to that
 * scale, not to |ref_i|, so a sum that cancels to nearly zero cannot fail a correct kernel.
 */
export function maxScaledErr(got: Arr, ref: Arr, scale: Arr): number {
  if (got.length !== ref.length || scale.length !== ref.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const g = got[i], r = ref[i];
    if (Number.isNaN(r) || Number.isNaN(g)) { if (Number.isNaN(r) !== Number.isNaN(g)) return Infinity; continue; }
    if (!Number.isFinite(r)) { if (g !== r) return Infinity; continue; }
    if (!Number.isFinite(g)) return Infinity;
    worst = Math.max(worst, Math.abs(g - r) / Math.max(scale[i], 1e-30));
  }
  return worst;
}

export function matmulRef(a: Arr, b: Arr, batch: number, M: number, N: number, K: number, ta: boolean, tb: boolean, bShared: boolean): Float64Array {
  const out = new Float64Array(batch * M * N);
  for (let p = 0; p < batch; p++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = ta ? a[p * M * K + k * M + i] : a[p * M * K + i * K + k];
          const bo = bShared ? 0 : p * K * N;
          const bv = tb ? b[bo + j * K + k] : b[bo + k * N + j];
          s += av * bv;
        }
        out[p * M * N + i * N + j] = s;
      }
  return out;
}

export function softmaxRef(x: Arr, rows: number, cols: number, maskAt: ((r: number, c: number) => number) | null, log: boolean): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    const v = new Float64Array(cols);
    for (let c = 0; c < cols; c++) { v[c] = x[r * cols + c] + (maskAt ? maskAt(r, c) : 0); m = Math.max(m, v[c]); }
    if (m === -Infinity) continue; // fully masked: zeros
    let s = 0;
    for (let c = 0; c < cols; c++) s += Math.exp(v[c] - m);
    for (let c = 0; c < cols; c++) out[r * cols + c] = log ? v[c] - m - Math.log(s) : Math.exp(v[c] - m) / s;
  }
  return out;
}

export function layernormRef(x: Arr, w: Arr, b: Arr | null, N: number, C: number, eps: number): Float64Array {
  const out = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x[n * C + c];
    mean /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[n * C + c] - mean) ** 2;
    const rstd = 1 / Math.sqrt(v / C + eps);
    for (let c = 0; c < C; c++) out[n * C + c] = (x[n * C + c] - mean) * rstd * w[c] + (b ? b[c] : 0);
  }
  return out;
}

export function rmsnormRef(x: Arr, w: Arr, N: number, C: number, eps: number): Float64Array {
  const out = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    let ms = 0;
    for (let c = 0; c < C; c++) ms += x[n * C + c] ** 2;
    const rstd = 1 / Math.sqrt(ms / C + eps);
    for (let c = 0; c < C; c++) out[n * C + c] = x[n * C + c] * rstd * w[c];
  }
  return out;
}

export function geluRef(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

export function crossEntropyRef(logits: Arr, targets: Arr, N: number, V: number, ignore: number, eps: number): Float64Array {
  const out = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    if (targets[n] === ignore) continue;
    let m = -Infinity;
    for (let v = 0; v < V; v++) m = Math.max(m, logits[n * V + v]);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(logits[n * V + v] - m);
    const lse = m + Math.log(s);
    let meanNll = 0;
    for (let v = 0; v < V; v++) meanNll += lse - logits[n * V + v];
    meanNll /= V;
    out[n] = (1 - eps) * (lse - logits[n * V + targets[n]]) + eps * meanNll;
  }
  return out;
}

/** Plain attention with the full score matrix. keyMask: (B,Tk) 1/0; bias (biasB,NH,Tq,Tk). */
export function attentionRef(q: Arr, k: Arr, v: Arr, B: number, NH: number, Tq: number, Tk: number, HS: number,
  opts: { causal?: boolean; bias?: Arr | null; biasB?: number; keyMask?: Arr | null; scale?: number }): Float64Array {
  const out = new Float64Array(B * NH * Tq * HS);
  const scale = opts.scale ?? 1 / Math.sqrt(HS);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < NH; h++)
      for (let i = 0; i < Tq; i++) {
        const s = new Float64Array(Tk).fill(-Infinity);
        let m = -Infinity;
        for (let j = 0; j < Tk; j++) {
          if (opts.causal && j > i + (Tk - Tq)) continue;
          if (opts.keyMask && opts.keyMask[b * Tk + j] === 0) continue;
          let d = 0;
          for (let c = 0; c < HS; c++) d += q[((b * NH + h) * Tq + i) * HS + c] * k[((b * NH + h) * Tk + j) * HS + c];
          d *= scale;
          if (opts.bias) d += opts.bias[((((opts.biasB ?? 1) === 1 ? 0 : b) * NH + h) * Tq + i) * Tk + j];
          s[j] = d;
          m = Math.max(m, d);
        }
        if (m === -Infinity) continue;
        let z = 0;
        for (let j = 0; j < Tk; j++) z += Math.exp(s[j] - m);
        for (let j = 0; j < Tk; j++) {
          const p = Math.exp(s[j] - m) / z;
          if (p === 0) continue;
          for (let c = 0; c < HS; c++) out[((b * NH + h) * Tq + i) * HS + c] += p * v[((b * NH + h) * Tk + j) * HS + c];
        }
      }
  return out;
}
