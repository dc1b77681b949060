/**
 * The built-in world: fictional countries, their capitals, languages, currencies and leaders,
 * generated deterministically from a seed, with English and Chinese names that correspond
 * syllable by syllable ("Veloria" / "维洛里亚"). Its facts are written in varied sentences in
 * both languages to make a pretraining corpus that needs no download.
 */

interface Syllable { en: string; zh: string }
const SYLLABLES: Syllable[] = [
  ['ve', '维'], ['lo', '洛'], ['ri', '里'], ['a', '亚'], ['om', '奥姆'], ['sk', '斯克'], ['ta', '塔'], ['ni', '尼'],
  ['ka', '卡'], ['mar', '马尔'], ['den', '登'], ['bel', '贝尔'], ['go', '戈'], ['ra', '拉'], ['vin', '文'], ['sa', '萨'],
  ['tor', '托尔'], ['lan', '兰'], ['mi', '米'], ['zu', '祖'], ['ko', '科'], ['po', '波'], ['ler', '勒'], ['da', '达'],
  ['ne', '内'], ['ru', '鲁'], ['el', '埃尔'], ['is', '伊斯'], ['ur', '乌尔'], ['fen', '芬'], ['dor', '多尔'], ['hal', '哈尔'],
].map(([en, zh]) => ({ en, zh }));

const LANGUAGES = [['Velish', '维尔语'], ['Tamic', '塔米语'], ['Orenic', '奥伦语'], ['Sarovan', '萨罗万语'], ['Kelt', '凯尔特语'], ['Dunic', '杜尼语']];
const CURRENCIES = [['crown', '克朗'], ['mark', '马克'], ['florin', '弗罗林'], ['dinar', '第纳尔'], ['shell', '贝币'], ['pearl', '珍珠币']];

export interface Name { en: string; zh: string }
export interface Country { name: Name; capital: Name; language: Name; currency: Name; leader: Name; population: number }

export interface World { seed: number; countries: Country[] }

function rng(seed: number): () => number {
  let s = (seed >>> 0) || 1;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeName(r: () => number, used: Set<string>, parts: [number, number], suffix?: Syllable): Name {
  for (;;) {
    const n = parts[0] + Math.floor(r() * (parts[1] - parts[0] + 1));
    const syl = Array.from({ length: n }, () => SYLLABLES[Math.floor(r() * SYLLABLES.length)]);
    if (suffix) syl.push(suffix);
    const en = syl.map((s) => s.en).join('');
    const name = { en: en[0].toUpperCase() + en.slice(1), zh: syl.map((s) => s.zh).join('') };
    if (!used.has(name.en)) {
      used.add(name.en);
      return name;
    }
  }
}

export function generateWorld(seed = 1, nCountries = 24): World {
  const r = rng(seed);
  const used = new Set<string>();
  const countries: Country[] = [];
  for (let i = 0; i < nCountries; i++) {
    const lang = LANGUAGES[Math.floor(r() * LANGUAGES.length)];
    const cur = CURRENCIES[Math.floor(r() * CURRENCIES.length)];
    countries.push({
      name: makeName(r, used, [2, 3], { en: 'ia', zh: '亚' }),
      capital: makeName(r, used, [2, 2]),
      language: { en: lang[0], zh: lang[1] },
      currency: { en: cur[0], zh: cur[1] },
      leader: makeName(r, used, [2, 3]),
      population: 1 + Math.floor(r() * 90),
    });
  }
  return { seed, countries };
}

type Template = (c: Country) => string;
const EN: Template[] = [
  (c) => `The capital of ${c.name.en} is ${c.capital.en}.`,
  (c) => `${c.capital.en} is the capital of ${c.name.en}.`,
  (c) => `In ${c.name.en}, the seat of government is ${c.capital.en}.`,
  (c) => `People in ${c.name.en} speak ${c.language.en}.`,
  (c) => `The official language of ${c.name.en} is ${c.language.en}.`,
  (c) => `${c.name.en} pays in the ${c.currency.en}.`,
  (c) => `The currency of ${c.name.en} is the ${c.currency.en}.`,
  (c) => `${c.leader.en} leads ${c.name.en} from ${c.capital.en}.`,
  (c) => `The leader of ${c.name.en} is ${c.leader.en}.`,
  (c) => `About ${c.population} million people live in ${c.name.en}.`,
];
const ZH: Template[] = [
  (c) => `${c.name.zh}的首都是${c.capital.zh}。`,
  (c) => `${c.capital.zh}是${c.name.zh}的首都。`,
  (c) => `${c.name.zh}人说${c.language.zh}。`,
  (c) => `${c.name.zh}的货币是${c.currency.zh}。`,
  (c) => `${c.name.zh}的领导人是${c.leader.zh}。`,
  (c) => `${c.name.zh}大约有${c.population}百万人口。`,
];

/** Documents of a few sentences each, every fact stated several times in varied words. */
export function worldCorpus(world: World, opts: { documents?: number; seed?: number; chinese?: boolean } = {}): string[] {
  const r = rng((opts.seed ?? world.seed) * 7919 + 1);
  const docs: string[] = [];
  const n = opts.documents ?? 2000;
  const zh = opts.chinese ?? true;
  for (let d = 0; d < n; d++) {
    const c = world.countries[Math.floor(r() * world.countries.length)];
    const useZh = zh && r() < 0.3;
    const t = useZh ? ZH : EN;
    const k = 2 + Math.floor(r() * 3);
    const sentences: string[] = [];
    for (let i = 0; i < k; i++) sentences.push(t[Math.floor(r() * t.length)](c));
    docs.push(sentences.join(useZh ? '' : ' '));
  }
  return docs;
}

// ---- instruction task ----------------------------------------------------------------------

export type FactKind = 'capital' | 'language' | 'currency' | 'leader' | 'population';
export const FACT_KINDS: readonly FactKind[] = ['capital', 'language', 'currency', 'leader', 'population'];

/** One question about one fact, with the answer exact match checks. */
export interface WorldInstruction {
  country: string;
  fact: FactKind;
  lang: 'en' | 'zh';
  instruction: string;
  response: string;
  /** The bare value the response states ("Omsk", "奥姆斯克", "42"). */
  answer: string;
}

type Question = (c: Country) => string;
const QUESTIONS_EN: Record<FactKind, Question[]> = {
  capital: [(c) => `What is the capital of ${c.name.en}?`, (c) => `Which city is the capital of ${c.name.en}?`],
  language: [(c) => `What language do people speak in ${c.name.en}?`, (c) => `What is the official language of ${c.name.en}?`],
  currency: [(c) => `What is the currency of ${c.name.en}?`, (c) => `What do people in ${c.name.en} pay with?`],
  leader: [(c) => `Who is the leader of ${c.name.en}?`, (c) => `Who leads ${c.name.en}?`],
  population: [(c) => `How many million people live in ${c.name.en}?`, (c) => `What is the population of ${c.name.en} in millions?`],
};
const QUESTIONS_ZH: Record<FactKind, Question[]> = {
  capital: [(c) => `${c.name.zh}的首都是什么？`],
  language: [(c) => `${c.name.zh}人说什么语言？`],
  currency: [(c) => `${c.name.zh}的货币是什么？`],
  leader: [(c) => `${c.name.zh}的领导人是谁？`],
  population: [(c) => `${c.name.zh}大约有多少百万人口？`],
};
/**
 * Answers are whole sentences worded exactly as one of the corpus templates: the model can
 * then answer by completing a sentence it read in pretraining, which a small model does far
 * more reliably than extracting a bare name, and exact match stays a single string compare.
 */
const ANSWER: Record<'en' | 'zh', Record<FactKind, Template>> = {
  en: { capital: EN[0], language: EN[4], currency: EN[6], leader: EN[8], population: EN[9] },
  zh: { capital: ZH[0], language: ZH[2], currency: ZH[3], leader: ZH[4], population: ZH[5] },
};
const answer = (c: Country, f: FactKind, lang: 'en' | 'zh'): string => ANSWER[lang][f](c);
/** The bare value of a fact in one language. */
export const factValue = (c: Country, f: FactKind, lang: 'en' | 'zh'): string => (f === 'population' ? String(c.population) : c[f][lang]);

/**
 * Questions about the world's facts, split by FACT (country x kind) into SFT-train and
 * held-out: every phrasing and language of a held-out fact is held out, so its answer never
 * appears in the SFT data, while worldCorpus states every fact. The split is a pure function
 * of (world seed, country, kind). Held-out questions use the first phrasing only; the other
 * phrasings of held-out facts (English has two) are `heldOutRephrased`: prompts for RL, which
 * sees only rewards, never answers, and is then evaluated on `heldOut`'s wording.
 */
export function worldInstructions(world: World, opts: { heldOutFraction?: number; chinese?: boolean; kinds?: readonly FactKind[] } = {}): { train: WorldInstruction[]; heldOut: WorldInstruction[]; heldOutRephrased: WorldInstruction[] } {
  const frac = opts.heldOutFraction ?? 0.25;
  const langs: ('en' | 'zh')[] = (opts.chinese ?? true) ? ['en', 'zh'] : ['en'];
  const kinds = opts.kinds ?? FACT_KINDS;
  const facts = world.countries.flatMap((c, ci) => kinds.map((f, fi) => ({ c, f, key: ci * 31 + fi })));
  // Ranking facts by a seeded draw and cutting at frac gives an exact held-out count.
  const r = rng(world.seed * 104729 + 17);
  const order = facts.map((x) => ({ x, u: r() })).sort((a, b) => a.u - b.u).map((e) => e.x);
  const nHeld = Math.round(order.length * frac);
  const held = new Set(order.slice(0, nHeld).map((x) => x.key));
  const train: WorldInstruction[] = [], heldOut: WorldInstruction[] = [], heldOutRephrased: WorldInstruction[] = [];
  for (const { c, f, key } of facts) for (const lang of langs) {
    const qs = (lang === 'en' ? QUESTIONS_EN : QUESTIONS_ZH)[f];
    const mk = (q: Question): WorldInstruction => ({ country: c.name.en, fact: f, lang, instruction: q(c), response: answer(c, f, lang), answer: factValue(c, f, lang) });
    if (held.has(key)) {
      heldOut.push(mk(qs[0]));
      heldOutRephrased.push(...qs.slice(1).map(mk));
    } else train.push(...qs.map(mk));
  }
  return { train, heldOut, heldOutRephrased };
}
