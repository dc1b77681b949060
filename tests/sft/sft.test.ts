// SFT data, chat templates and the loss mask, token by token.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSftJsonl, parseSftRecord, type ChatMessage } from '../../src/data/sft.js';
import { ChatMLTemplate, JinjaChatTemplate, loadChatTemplate, encodeSegments, sftLabels, stopTokenIds, IGNORE } from '../../src/sft/chat_template.js';
import { trainBPE } from '../../src/tokenizer/train.js';
import { defaultSpecialTokens, IM_END } from '../../src/tokenizer/special.js';
import { DataError, ArgumentError } from '../../src/errors.js';
import { generateWorld, worldCorpus, worldInstructions } from '../../src/pipeline/world.js';

const dir = mkdtempSync(join(tmpdir(), 'lmt-sft-'));
const tok = trainBPE(['The capital of Veloria is Omsk. What is the capital of Veloria? You are helpful. Hi there, hello!'], { vocabSize: 400, specialTokens: defaultSpecialTokens() });
const conv: ChatMessage[] = [
  { role: 'system', content: 'You are helpful.' },
  { role: 'user', content: 'What is the capital of Veloria?' },
  { role: 'assistant', content: 'The capital of Veloria is Omsk.' },
  { role: 'user', content: 'Hi there' },
  { role: 'assistant', content: 'hello!' },
];
// The Qwen2 / ChatML template as tokenizer_config.json files carry it.
const CHATML_JINJA = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

describe('SFT data', () => {
  it('reads both formats; instruction + input become one user turn', () => {
    const f = join(dir, 'ok.jsonl');
    writeFileSync(f, [
      JSON.stringify({ instruction: 'Add', input: '2 and 3', response: '5' }),
      '',
      JSON.stringify({ messages: conv }),
    ].join('\n'));
    const ex = readSftJsonl(f);
    expect(ex).toHaveLength(2);
    expect(ex[0].messages).toEqual([{ role: 'user', content: 'Add\n\n2 and 3' }, { role: 'assistant', content: '5' }]);
    expect(ex[1].messages).toEqual(conv);
    expect(ex[1].line).toBe(3);
  });

  it('rejects bad records with the file and line', () => {
    const bad: [unknown, RegExp][] = [
      [{ instruction: 'x' }, /missing "response"/],
      [{ instruction: 'x', response: 3 }, /"response" must be a string/],
      [{ instruction: 'x', response: 'y', extra: 1 }, /unknown field/],
      [{ messages: [] }, /empty/],
      [{ messages: [{ role: 'bot', content: 'x' }] }, /role must be/],
      [{ messages: [{ role: 'user', content: 'x' }] }, /no assistant turn/],
      [{ messages: [{ role: 'user', content: 'x' }, { role: 'system', content: 's' }, { role: 'assistant', content: 'y' }] }, /system message may only come first/],
      [{ messages: [{ role: 'user' }, { role: 'assistant', content: 'y' }] }, /content must be a string/],
      [[1], /expected a JSON object/],
    ];
    for (const [rec, re] of bad) {
      expect(() => parseSftRecord(rec)).toThrow(re);
      const f = join(dir, 'bad.jsonl');
      writeFileSync(f, `${JSON.stringify({ instruction: 'a', response: 'b' })}\n${JSON.stringify(rec)}\n`);
      let err: unknown;
      try { readSftJsonl(f); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(DataError);
      expect((err as DataError).file).toBe(f);
      expect((err as DataError).line).toBe(2);
    }
    writeFileSync(join(dir, 'json.jsonl'), '{"instruction": \n');
    expect(() => readSftJsonl(join(dir, 'json.jsonl'))).toThrow(/json\.jsonl:1: invalid JSON/);
  });
});

describe('chat template and loss mask', () => {
  it('labels exactly the assistant tokens (content + <|im_end|>), token by token', () => {
    const t = new ChatMLTemplate();
    const enc = encodeSegments(tok, t.segments(conv));
    expect(tok.decode(enc.ids)).toBe(conv.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join(''));
    const labels = sftLabels(enc);
    // Walk the tokens: a label at t must be the next token, and exactly the tokens inside an
    // assistant reply (after "<|im_start|>assistant\n", up to and including <|im_end|>) are targets.
    const text: string[] = Array.from(enc.ids, (id) => tok.decode([id]));
    let inAssistant = false, prefix = '';
    const expected: boolean[] = [];
    for (let i = 0; i < text.length; i++) {
      expected.push(inAssistant);
      prefix += text[i];
      if (prefix.endsWith('<|im_start|>assistant\n')) inAssistant = true;
      if (text[i] === IM_END) inAssistant = false;
    }
    for (let i = 0; i + 1 < enc.ids.length; i++) {
      if (expected[i + 1]) expect(labels[i]).toBe(enc.ids[i + 1]);
      else expect(labels[i]).toBe(IGNORE);
    }
    expect(labels[enc.ids.length - 1]).toBe(IGNORE);
    const trained = tok.decode(Array.from(labels).filter((l) => l !== IGNORE));
    expect(trained).toBe('The capital of Veloria is Omsk.<|im_end|>hello!<|im_end|>');
    const all = sftLabels(enc, { trainOnAll: true });
    expect(Array.from(all.slice(0, -1))).toEqual(Array.from(enc.ids.slice(1)));
  });

  it('a Hugging Face Jinja chat_template gives the same text and the same mask as the built-in one', () => {
    const f = join(dir, 'tokenizer_config.json');
    writeFileSync(f, JSON.stringify({ chat_template: CHATML_JINJA, eos_token: { content: '<|endoftext|>' } }));
    const j = loadChatTemplate(f);
    const c = new ChatMLTemplate();
    const a = encodeSegments(tok, j.segments(conv)), b = encodeSegments(tok, c.segments(conv));
    expect(Array.from(a.ids)).toEqual(Array.from(b.ids));
    // The Jinja spans include the "\n" after <|im_end|>, the built-in ones do not; otherwise equal.
    const trainedA = tok.decode(Array.from(sftLabels(a)).filter((l) => l !== IGNORE));
    expect(trainedA).toBe('The capital of Veloria is Omsk.<|im_end|>\nhello!<|im_end|>\n');
    expect(j.prompt(conv.slice(0, 2))).toBe(c.prompt(conv.slice(0, 2)));
    expect(stopTokenIds(tok, j)).toContain(tok.tokenToId(IM_END));
  });

  it('rejects templates with no exact assistant spans, and unparsable ones', () => {
    // Puts a running count first: each prefix renders differently, so no span can be located.
    const unstable = new JinjaChatTemplate("{{ messages|length }}{% for m in messages %}{{ m['content'] }}{% endfor %}");
    expect(() => unstable.segments(conv)).toThrow(ArgumentError);
    expect(() => new JinjaChatTemplate('{% for %}')).toThrow(/does not parse/);
    writeFileSync(join(dir, 'nochat.json'), '{"eos_token": "x"}');
    expect(() => loadChatTemplate(join(dir, 'nochat.json'))).toThrow(/no "chat_template"/);
  });
});

describe('built-in instruction task', () => {
  it('splits facts, not questions: no held-out fact appears in the SFT data; the corpus has them all', () => {
    const w = generateWorld(11, 10);
    const { train, heldOut, heldOutRephrased } = worldInstructions(w);
    const key = (q: { country: string; fact: string }) => `${q.country}/${q.fact}`;
    const trainFacts = new Set(train.map(key));
    expect(heldOut.length).toBeGreaterThan(0);
    for (const q of heldOut) {
      expect(trainFacts.has(key(q))).toBe(false);
      expect(train.some((t) => t.response === q.response)).toBe(false);
    }
    expect(new Set(heldOut.map((q) => q.lang))).toEqual(new Set(['en', 'zh']));
    const corpus = worldCorpus(w, { documents: 3000 }).join('\n');
    for (const q of heldOut) expect(corpus.includes(q.response)).toBe(true);
    expect(worldInstructions(w)).toEqual({ train, heldOut, heldOutRephrased });
  });
  it('asks every held-out English fact once more in other words (RL prompts), never in held-out wording', () => {
    const { train, heldOut, heldOutRephrased } = worldInstructions(generateWorld(11, 10));
    const key = (q: { country: string; fact: string; lang: string }) => `${q.country}/${q.fact}/${q.lang}`;
    expect(heldOutRephrased.map(key).sort()).toEqual(heldOut.filter((q) => q.lang === 'en').map(key).sort());
    const heldPrompts = new Set(heldOut.map((q) => q.instruction));
    for (const q of heldOutRephrased) {
      expect(heldPrompts.has(q.instruction)).toBe(false);
      expect(train.some((t) => t.response === q.response)).toBe(false);
    }
  });
});
