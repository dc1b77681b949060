/**
 * Built-in supervised tasks, generated deterministically from a seed (no download).
 *
 * Sentiment: short reviews of fictional products and places, in English and Chinese, whose
 * label needs composition: a plain clause ("The soup was tasty." / "汤很好吃。"), a negated
 * one ("not tasty" / "不好吃") flips it, and in a contrast "X, but Y" ("…，但是…") the clause
 * after "but" decides. Many adjectives per polarity, so a few labels cannot cover them all;
 * the unlabelled reviews add a closing remark that goes with the mood ("I will come back."),
 * the kind of signal pretraining can pick up without labels.
 *
 * QA: questions about one fact of the built-in world (pipeline/world.ts); the context is a
 * few fact sentences about several countries, the answer a span of it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../data/rng.js';
import type { ClsExample, QaExample } from '../data/cls.js';
import { generateWorld, type Country } from './world.js';

type Word = [en: string, zh: string];
const POS: Word[] = [['great', '很棒'], ['excellent', '出色'], ['tasty', '好吃'], ['friendly', '友好'], ['clean', '干净'], ['lovely', '可爱'],
  ['wonderful', '精彩'], ['comfortable', '舒服'], ['cheap', '便宜'], ['fast', '快'], ['beautiful', '漂亮'], ['pleasant', '愉快']];
const NEG: Word[] = [['terrible', '糟糕'], ['awful', '差劲'], ['bland', '难吃'], ['rude', '粗鲁'], ['dirty', '脏'], ['ugly', '难看'],
  ['boring', '无聊'], ['uncomfortable', '难受'], ['expensive', '贵'], ['slow', '慢'], ['noisy', '吵'], ['broken', '坏']];
const THINGS: Word[] = [['food', '饭菜'], ['room', '房间'], ['staff', '员工'], ['service', '服务'], ['view', '风景'], ['price', '价格'],
  ['music', '音乐'], ['bed', '床'], ['coffee', '咖啡'], ['screen', '屏幕'], ['battery', '电池'], ['garden', '花园']];
const PLACES: Word[] = [['hotel', '酒店'], ['cafe', '咖啡馆'], ['phone', '手机'], ['museum', '博物馆'], ['restaurant', '餐厅'], ['park', '公园']];
const NAME_SYL: Word[] = [['zo', '佐'], ['ra', '拉'], ['mi', '米'], ['ten', '滕'], ['ko', '科'], ['lu', '卢'], ['va', '瓦'], ['nor', '诺'], ['bel', '贝'], ['si', '斯']];
const CLOSE_POS: Word[] = [['Loved it!', '好评！'], ['Recommended!', '推荐！'], ['Five stars!', '五星！']];
const CLOSE_NEG: Word[] = [['Hated it!', '差评！'], ['Avoid!', '别去！'], ['One star!', '一星！']];

export const SENTIMENT_LABELS = ['negative', 'positive'] as const;

export interface SentimentTask {
  labels: string[];
  train: ClsExample[];
  dev: ClsExample[];
  test: ClsExample[];
  /** Reviews without labels, for pretraining and self-training. */
  unlabeled: string[];
}

export interface SentimentOptions {
  train?: number; dev?: number; test?: number; unlabeled?: number;
  /** Share of Chinese reviews (0.3). */
  chinese?: number;
  /** Chance that a clause is negated (0.3) and that a review is a contrast "X, but Y" (0.4). */
  negation?: number;
  contrast?: number;
}

const pick = <T>(r: Rng, xs: readonly T[]): T => xs[r.int(xs.length)];

/** One review and its polarity (1 positive, 0 negative). */
function review(r: Rng, zh: boolean, closing: boolean, negation: number, contrast: number): { text: string; label: number } {
  const name = Array.from({ length: 2 + r.int(2) }, () => pick(r, NAME_SYL));
  const place = pick(r, PLACES);
  const nameEn = name.map((s) => s[0]).join('');
  const title = zh ? `${name.map((s) => s[1]).join('')}${place[1]}` : `${nameEn[0].toUpperCase()}${nameEn.slice(1)} ${place[0]}`;
  // A clause: a thing, an adjective, maybe negated; its polarity is the adjective's, flipped by "not".
  const clause = (): { en: string; zh: string; pol: number } => {
    const positive = r.next() < 0.5;
    const adj = pick(r, positive ? POS : NEG);
    const neg = r.next() < negation;
    const thing = pick(r, THINGS);
    return {
      en: `the ${thing[0]} was ${neg ? 'not ' : ''}${adj[0]}`,
      zh: `${thing[1]}${neg ? '不' : '很'}${adj[1]}`,
      pol: positive !== neg ? 1 : 0,
    };
  };
  const a = clause();
  let label = a.pol;
  let body: string;
  if (r.next() < contrast) {
    const b = clause();
    label = b.pol;
    body = zh ? `${a.zh}，但是${b.zh}。` : `${a.en[0].toUpperCase()}${a.en.slice(1)}, but ${b.en}.`;
  } else body = zh ? `${a.zh}。` : `${a.en[0].toUpperCase()}${a.en.slice(1)}.`;
  const head = zh ? `${title}：` : `${title}: `;
  let text = head + body;
  if (closing) {
    // The remark follows the review directly, so a causal model learns to anticipate the mood
    // at the review's last token; the extra clause after it puts words of one polarity in
    // shared contexts. Both are what pretraining can exploit without ever seeing a label.
    const c = pick(r, label ? CLOSE_POS : CLOSE_NEG);
    text += zh ? c[1] : ` ${c[0]}`;
    if (r.next() < 0.6) {
      const adj = pick(r, label ? POS : NEG), thing = pick(r, THINGS);
      text += zh ? `${thing[1]}也很${adj[1]}。` : ` The ${thing[0]} was ${adj[0]} too.`;
    }
  }
  return { text, label };
}

export function sentimentTask(seed = 1, opts: SentimentOptions = {}): SentimentTask {
  const r = new Rng(seed * 7919 + 17);
  const zhShare = opts.chinese ?? 0.3;
  const make = (n: number, closing: boolean) => Array.from({ length: n }, () => review(r, r.next() < zhShare, closing, opts.negation ?? 0.3, opts.contrast ?? 0.4));
  const labelled = (n: number): ClsExample[] => make(n, false).map((x) => ({ text: x.text, label: SENTIMENT_LABELS[x.label] }));
  return {
    labels: [...SENTIMENT_LABELS],
    train: labelled(opts.train ?? 2000),
    dev: labelled(opts.dev ?? 300),
    test: labelled(opts.test ?? 500),
    unlabeled: make(opts.unlabeled ?? 8000, true).map((x) => x.text),
  };
}

export interface QaTask { train: QaExample[]; dev: QaExample[]; test: QaExample[]; unlabeled: string[] }

type Fact = { sentence: string; question: string; answer: string };
function facts(c: Country): Fact[] {
  return [
    { sentence: `The capital of ${c.name.en} is ${c.capital.en}.`, question: `What is the capital of ${c.name.en}?`, answer: c.capital.en },
    { sentence: `People in ${c.name.en} speak ${c.language.en}.`, question: `What language do people in ${c.name.en} speak?`, answer: c.language.en },
    { sentence: `The currency of ${c.name.en} is the ${c.currency.en}.`, question: `What is the currency of ${c.name.en}?`, answer: c.currency.en },
    { sentence: `The leader of ${c.name.en} is ${c.leader.en}.`, question: `Who leads ${c.name.en}?`, answer: c.leader.en },
    { sentence: `About ${c.population} million people live in ${c.name.en}.`, question: `How many million people live in ${c.name.en}?`, answer: String(c.population) },
  ];
}

/**
 * QA over the world's facts (English: the span metrics need whitespace-delimited answers to
 * align with byte-level BPE tokens). Each context holds the asked fact among 1-3 distractor
 * facts about other countries, in random order.
 */
export function worldQaTask(seed = 1, opts: { countries?: number; train?: number; dev?: number; test?: number } = {}): QaTask {
  const world = generateWorld(seed, opts.countries ?? 24);
  const r = new Rng(seed * 104729 + 3);
  const make = (n: number): QaExample[] => Array.from({ length: n }, () => {
    const c = pick(r, world.countries);
    const f = pick(r, facts(c));
    const sentences = [f.sentence];
    const k = 1 + r.int(3);
    for (let i = 0; i < k; i++) {
      const o = pick(r, world.countries);
      if (o !== c) sentences.push(pick(r, facts(o)).sentence);
    }
    r.shuffle(sentences);
    return { question: f.question, context: sentences.join(' '), answer: f.answer };
  });
  const unlabeled: string[] = [];
  for (let d = 0; d < 1500; d++) {
    const c = pick(r, world.countries);
    unlabeled.push(facts(c).map((f) => f.sentence).filter(() => r.next() < 0.6).join(' ') || facts(c)[0].sentence);
  }
  return { train: make(opts.train ?? 2000), dev: make(opts.dev ?? 200), test: make(opts.test ?? 300), unlabeled };
}

/**
 * Writes a built-in task as files for the CLI: train/dev/test.jsonl, unlabeled.txt (one text
 * per line, for pretraining), and for sentiment also train32.jsonl plus pool.txt: 32 labelled
 * reviews and the rest of the training texts without labels, the self-training setting.
 */
export function writeTask(kind: 'sentiment' | 'qa', dir: string, seed = 1, opts: SentimentOptions = {}): string[] {
  mkdirSync(dir, { recursive: true });
  const jsonl = (name: string, rows: readonly object[]) => writeFileSync(join(dir, name), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const t = kind === 'sentiment' ? sentimentTask(seed, opts) : worldQaTask(seed);
  jsonl('train.jsonl', t.train);
  jsonl('dev.jsonl', t.dev);
  jsonl('test.jsonl', t.test);
  writeFileSync(join(dir, 'unlabeled.txt'), t.unlabeled.join('\n') + '\n');
  const files = ['train.jsonl', 'dev.jsonl', 'test.jsonl', 'unlabeled.txt'];
  if (kind === 'sentiment') {
    const s = t as SentimentTask;
    jsonl('train32.jsonl', s.train.slice(0, 32));
    writeFileSync(join(dir, 'pool.txt'), s.train.slice(32).map((e) => e.text).join('\n') + '\n');
    files.push('train32.jsonl', 'pool.txt');
  }
  return files.map((f) => join(dir, f));
}
