// KV-cache speed-up of greedy generation (run after `npm run build`):
//   node bench/generate.mjs [--tokens 200] [--dim 128] [--layers 4] [--ctx 256]
import { GPT, generate, manualSeed } from '../dist/index.js';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const tokens = arg('tokens', 200), dim = arg('dim', 128), layers = arg('layers', 4), ctx = arg('ctx', 256);
manualSeed(1);
const model = new GPT({ vocab_size: 512, n_positions: ctx, n_layer: layers, n_head: 4, n_embd: dim });
const prompt = [1, 2, 3, 4, 5, 6, 7, 8];
const time = (useCache) => {
  const t0 = performance.now();
  const out = generate(model, prompt, { temperature: 0, maxNewTokens: tokens, useCache });
  return { out, ms: performance.now() - t0 };
};
time(true); // warm-up
const runs = 3;
const cached = [], full = [];
let same = true;
for (let r = 0; r < runs; r++) {
  const a = time(true), b = time(false);
  cached.push(a.ms);
  full.push(b.ms);
  same &&= a.out.join() === b.out.join();
}
const med = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(JSON.stringify({ tokens, dim, layers, ctx, cached_ms: med(cached), uncached_ms: med(full),
  cached_tokens_per_s: tokens / (med(cached) / 1000), speedup: med(full) / med(cached), identical_output: same }));
model.dispose();
