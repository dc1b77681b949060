/**
 * Tokenizer encode speed: lmtrain's byte-level BPE vs js-tiktoken, both with GPT-2's
 * vocabulary, on ~5 MB of generated mixed text (English-like prose, code, numbers, Chinese,
 * emoji) cut into ~10 KB documents. Checks that both give the same ids, then prints MB/s.
 *
 *   npm run build:ts && node bench/tokenizer.mjs [MB] [TEXT_FILE...]
 *
 * Each TEXT_FILE given is measured too, cut into ~10 KB documents.
 *
 * The GPT-2 tokenizer.json is rebuilt from js-tiktoken's ranks as in
 * tests/helpers/gpt2_tokenizer.ts (a plain script cannot import that TypeScript file).
 */
import { Tiktoken } from 'js-tiktoken/lite';
import gpt2 from 'js-tiktoken/ranks/gpt2';
import { Tokenizer, BYTE_TO_CHAR } from '../dist/tokenizer/index.js';

const MB = Number(process.argv[2] ?? 5);

function gpt2Json() {
  const strs = [];
  for (const line of gpt2.bpe_ranks.split('\n')) {
    if (!line) continue;
    const [, offset, ...toks] = line.split(' ');
    toks.forEach((t, i) => { strs[Number(offset) + i] = Array.from(Buffer.from(t, 'base64'), (b) => BYTE_TO_CHAR[b]).join(''); });
  }
  const rankOf = new Map(strs.map((s, r) => [s, r]));
  const vocab = Object.create(null);
  strs.forEach((s, r) => { vocab[s] = r; });
  vocab['<|endoftext|>'] = 50256;
  const merges = [];
  for (let r = 256; r < strs.length; r++) {
    let parts = Array.from(strs[r]);
    for (;;) {
      let best = -1, bestRank = r;
      for (let i = 0; i + 1 < parts.length; i++) {
        const q = rankOf.get(parts[i] + parts[i + 1]);
        if (q !== undefined && q < bestRank) { bestRank = q; best = i; }
      }
      if (best < 0) break;
      parts = [...parts.slice(0, best), parts[best] + parts[best + 1], ...parts.slice(best + 2)];
    }
    merges.push(parts.join(' '));
  }
  return {
    added_tokens: [{ id: 50256, content: '<|endoftext|>', special: true }],
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    decoder: { type: 'ByteLevel' },
    model: { type: 'BPE', vocab, merges },
  };
}

// mulberry32: the same text on every run
let seed = 12345;
const rand = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const zipf = (n) => Math.floor(Math.exp(rand() * Math.log(n + 1))) - 1;

function generate(bytes, cjk) {
  const syl = ['th', 'e', 'an', 'in', 'er', 'on', 're', 'at', 'st', 'ou', 'ing', 'pro', 'con', 'al', 'ly', 'tion', 'ment', 'ex', 'com', 'de'];
  const words = Array.from({ length: 5000 }, () => Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(syl)).join(''));
  const han = Array.from('的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坐集编宝谈府拉黑且随格尽剑讲布杀微怕母调局根曾准团段终乐切级克精哪官示冷域读');
  const emoji = Array.from('😀😂🥰😎🤔👍🏽🎉🚀🔥💡✨🌍🍕⚽️🇯🇵');
  let s = '';
  const parts = [];
  while (s.length < bytes) {
    const r = rand();
    if (r < 0.7) {
      let sent = '';
      const n = 5 + Math.floor(rand() * 20);
      for (let i = 0; i < n; i++) {
        let w = words[zipf(words.length)];
        if (i === 0) w = w[0].toUpperCase() + w.slice(1);
        if (rand() < 0.05) w += pick([',', ';', "'s", "'ll"]);
        if (rand() < 0.03) w = String(Math.floor(rand() * 100000));
        sent += (i ? ' ' : '') + w;
      }
      s += sent + pick(['. ', '! ', '? ', '.\n', '.\n\n']);
    } else if (r < 0.85) {
      const v = words[zipf(200)];
      s += `    for (let ${v} = 0; ${v} < ${Math.floor(rand() * 1000)}; ${v}++) {\n        total += data[${v}] * 0.${Math.floor(rand() * 1000)};\n    }\n`;
    } else if (!cjk) {
      continue;
    } else if (r < 0.97) {
      let z = '';
      const n = 5 + Math.floor(rand() * 30);
      for (let i = 0; i < n; i++) z += han[zipf(han.length)];
      s += z + pick(['，', '。', '。\n']);
    } else {
      s += pick(emoji) + pick(emoji) + ' ';
    }
    if (s.length > 10000) { parts.push(s); bytes -= s.length; s = ''; }
  }
  if (s) parts.push(s);
  return parts;
}

const json = gpt2Json();
const t0 = performance.now();
const ours = Tokenizer.fromJSON(json);
const tLoad = performance.now() - t0;
const ref = new Tiktoken(gpt2);
console.log(`lmtrain Tokenizer.fromJSON of GPT-2 (50257 tokens, 50000 merges): ${tLoad.toFixed(0)} ms`);

function time(docs, encode) {
  encode(docs.slice(0, 20)); // JIT warm-up on the first ~200 KB
  const t = performance.now();
  const ids = encode(docs);
  return [ids, (performance.now() - t) / 1000];
}

const { readFileSync } = await import('node:fs');
const corpora = [
  ['generated mixed: prose, code, numbers, Chinese, emoji', () => generate(MB * 1e6, true)],
  ['generated English-like prose and code only', () => generate(MB * 1e6, false)],
  ...process.argv.slice(3).map((f) => [f, () => readFileSync(f, 'utf8').match(/[\s\S]{1,10000}/g) ?? []]),
];
for (const [name, make] of corpora) {
  const docs = make();
  const totalBytes = docs.reduce((n, d) => n + Buffer.byteLength(d), 0);
  const [a, ta] = time(docs, (ds) => ds.map((d) => ours.encode(d)));
  const [b, tb] = time(docs, (ds) => ds.map((d) => ref.encode(d, 'all')));
  let same = a.length === b.length;
  for (let i = 0; same && i < a.length; i++) same = a[i].length === b[i].length && a[i].every((x, j) => x === b[i][j]);
  const nTok = a.reduce((n, x) => n + x.length, 0);
  const mbps = (t) => (totalBytes / 1e6 / t).toFixed(2);
  console.log(`\n${name}: ${(totalBytes / 1e6).toFixed(2)} MB in ${docs.length} documents, ${nTok} tokens; ids identical: ${same}`);
  console.log(`  lmtrain     encode: ${mbps(ta)} MB/s (${ta.toFixed(2)} s)`);
  console.log(`  js-tiktoken encode: ${mbps(tb)} MB/s (${tb.toFixed(2)} s)`);
  console.log(`  ratio lmtrain / js-tiktoken: ${(tb / ta).toFixed(2)}x`);
  if (!same) process.exitCode = 1;
}
