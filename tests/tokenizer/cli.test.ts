import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runTokenizer } from '../../src/cli/tokenizer.js';
import { Tokenizer } from '../../src/tokenizer/index.js';
import { DataError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'lmt-tok-cli-'));
const quiet = () => {
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
};

describe('lmtrain tokenizer train', () => {
  it('trains from text and JSONL files and writes a loadable tokenizer.json', async () => {
    quiet();
    const txt = join(dir, 'a.txt'), jsonl = join(dir, 'b.jsonl'), out = join(dir, 'tok.json');
    writeFileSync(txt, 'the cat sat on the mat\n'.repeat(200) + '猫坐在垫子上\n'.repeat(50));
    writeFileSync(jsonl, Array.from({ length: 100 }, (_, i) => JSON.stringify({ text: `dog number ${i} barks`, id: i })).join('\n') + '\n\n');
    const code = await runTokenizer(['train', '--data', txt, jsonl, '--vocab-size', '300', '--out', out, '--special', '[PAD],<|endoftext|>', '--special', '[MASK]']);
    expect(code).toBe(0);
    const tok = await Tokenizer.load(out);
    expect(tok.vocabSize).toBe(300);
    expect(tok.specialTokens).toEqual(['[PAD]', '<|endoftext|>', '[MASK]']);
    expect(tok.encode(' barks')).toHaveLength(1);
    expect(tok.encode(' mat')).toHaveLength(1);
    vi.restoreAllMocks();
  });

  it('uses the default special tokens', async () => {
    quiet();
    const txt = join(dir, 'c.txt'), out = join(dir, 'tok2.json');
    writeFileSync(txt, 'hello world '.repeat(100));
    expect(await runTokenizer(['train', '--data', txt, '--vocab-size', '400', '--out', out])).toBe(0);
    const tok = await Tokenizer.load(out);
    expect(tok.padId).toBe(0);
    expect(tok.numSentinels).toBe(32);
    expect(tok.tokenToId('<|im_start|>')).toBeTypeOf('number');
    vi.restoreAllMocks();
  });

  it('names the file and line of a bad JSONL line', async () => {
    quiet();
    const jsonl = join(dir, 'bad.jsonl');
    writeFileSync(jsonl, '{"text": "ok"}\n{"text": "ok"}\n{"text": broken\n');
    const run = runTokenizer(['train', '--data', jsonl, '--vocab-size', '300', '--out', join(dir, 'x.json')]);
    await expect(run).rejects.toThrow(DataError);
    await expect(runTokenizer(['train', '--data', jsonl, '--vocab-size', '300', '--out', join(dir, 'x.json')]))
      .rejects.toThrow(`${jsonl}:3: invalid JSON`);
    writeFileSync(jsonl, '{"text": "ok"}\n{"txt": "no"}\n');
    await expect(runTokenizer(['train', '--data', jsonl, '--vocab-size', '300', '--out', join(dir, 'x.json')]))
      .rejects.toThrow(`${jsonl}:2: expected an object with a string "text" field`);
    vi.restoreAllMocks();
  });

  it('returns 2 on usage errors', async () => {
    quiet();
    expect(await runTokenizer(['train', '--vocab-size', '300', '--out', 'x'])).toBe(2);
    expect(await runTokenizer(['train', '--data', 'a.txt', '--vocab-size', 'many', '--out', 'x'])).toBe(2);
    expect(await runTokenizer(['train', '--data', 'a.txt', '--vocab-size', '300'])).toBe(2);
    expect(await runTokenizer(['train', '--data', 'a.txt', '--bogus'])).toBe(2);
    expect(await runTokenizer(['frobnicate'])).toBe(2);
    expect(await runTokenizer(['--help'])).toBe(0);
    vi.restoreAllMocks();
  });
});
