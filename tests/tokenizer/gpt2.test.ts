import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../../src/tokenizer/index.js';
import { gpt2TokenizerJSON, gpt2Tiktoken } from '../helpers/gpt2_tokenizer.js';
import { rand } from '../helpers/rng.js';

/** Text that exercises every branch of the split pattern and of the merge code. */
function corpus(): string[] {
  const cjk = '自然语言处理是人工智能的一个重要分支它研究如何让计算机理解和生成人类语言';
  return [
    'Hello world! The quick brown fox jumps over the lazy dog.',
    "I'm sure they've said it's what we'd do, and you'll see we're right.  'S 'T 'RE",
    'function f(x: number): number {\n\treturn x ** 2 + 3.14159; // square\n}\n',
    'def main():\n    for i in range(10):\n        print(f"{i:>4}")\n\n\n',
    'spaces   between    words\t\ttabs\r\nwindows  \n  \n trailing   ',
    'numbers 1234567890 3.14 -42 1e10 0x1F 2024-11-28 ١٢٣ ⅧⅨ',
    cjk, cjk.repeat(9), // a long word: the heap path
    '混合 text 和中文, 还有 emoji 😀👍🏽 👨‍👩‍👧‍👦 🇯🇵 and flags.',
    'Ünïcödé çömbïnïng: e\u0301 a\u0308 ñ ﬁ ß ẞ Ελληνικά русский עברית العربية हिन्दी',
    'repeat aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ================================ !!!!!!!!',
    '<|endoftext|>start and end<|endoftext|> mid<|endoftext|>dle',
    '\u0000\u0001\u001f\u007f\u0080\u00a0\u00ad\ufeff\ufffd \u2028\u2029 \u3000',
    '',
    ' ',
    'x'.repeat(700) + ' ' + 'ab'.repeat(300),
  ];
}

function randomText(n: number): string {
  const pools = ['abcdefghij', 'ABC XYZ', ' \n\t', '0123456789', '.,;:!?()[]{}\'"-_', '中文字符汉语', 'éàüñç', '😀🚀🎉', "'s 'll 're"];
  let s = '';
  for (let i = 0; i < n; i++) {
    const p = Array.from(pools[Math.floor(rand() * pools.length)]);
    const len = 1 + Math.floor(rand() * 8);
    for (let j = 0; j < len; j++) s += p[Math.floor(rand() * p.length)];
  }
  return s;
}

describe('GPT-2 parity with js-tiktoken', () => {
  const tok = Tokenizer.fromJSON(gpt2TokenizerJSON());
  const ref = gpt2Tiktoken();

  it('has the GPT-2 vocabulary', () => {
    expect(tok.vocabSize).toBe(50257);
    expect(tok.eosId).toBe(50256);
    expect(tok.tokenToId('Ġthe')).toBe(262);
  });

  it('encodes a varied corpus to the same ids', () => {
    for (const text of corpus()) {
      const ids = tok.encode(text);
      expect(ids, JSON.stringify(text.slice(0, 60))).toEqual(ref.encode(text, 'all'));
      expect(tok.decode(ids)).toBe(text);
    }
  });

  it('encodes random mixed text to the same ids', () => {
    for (let i = 0; i < 30; i++) {
      const text = randomText(200);
      expect(tok.encode(text)).toEqual(ref.encode(text, 'all'));
    }
  });
});
