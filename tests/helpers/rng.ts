/** Fresh random inputs per run (the seed is printed; LMT_TEST_SEED replays a run). */
const seed = process.env.LMT_TEST_SEED ? Number(process.env.LMT_TEST_SEED) : (Date.now() ^ (process.pid << 8)) >>> 0;
let s = seed >>> 0 || 1;
console.log(`test seed ${seed} (set LMT_TEST_SEED to replay)`);

/** mulberry32 */
export function rand(): number {
  s = (s + 0x6d2b79f5) >>> 0;
  let t = s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
export function randn(): number {
  const u = Math.max(rand(), 1e-12), v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
export function randnArray(n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => randn() * scale);
}
export function randint(n: number, hi: number): Int32Array {
  return Int32Array.from({ length: n }, () => Math.floor(rand() * hi));
}
export function pick<T>(xs: T[]): T {
  return xs[Math.floor(rand() * xs.length)];
}
