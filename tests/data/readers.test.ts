import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/errors.js';
import {
  readLines, readJsonl, readDocuments, readTextDocuments, readJsonlDocuments, listSourceFiles,
  expectObject, expectString,
} from '../../src/data/index.js';
import { tempDir, write } from './helpers.js';

function catchError(fn: () => unknown): unknown {
  try { fn(); } catch (e) { return e; }
  throw new Error('expected an error');
}

describe('readLines', () => {
  const dir = tempDir();
  it('splits \\n and \\r\\n, keeps empty lines, drops a BOM, survives chunk boundaries inside characters', () => {
    const text = '\ufeffalpha\r\n\nβήτα 東京 🙂\r\nlast-without-newline';
    const file = write(dir, 'lines.txt', text);
    for (const chunk of [1, 2, 3, 5, 7, 64, 1 << 16]) {
      const lines = [...readLines(file, chunk)];
      expect(lines.map((l) => l.text)).toEqual(['alpha', '', 'βήτα 東京 🙂', 'last-without-newline']);
      expect(lines.map((l) => l.line)).toEqual([1, 2, 3, 4]);
      expect(lines[lines.length - 1].bytesRead).toBe(Buffer.byteLength(text));
    }
  });
  it('reports invalid UTF-8 on its exact line', () => {
    const file = write(dir, 'bad-utf8.txt', Buffer.concat([Buffer.from('ok\nfine\nbro'), Buffer.from([0xc3, 0x28]), Buffer.from('ken\nafter\n')]));
    for (const chunk of [3, 1 << 16]) {
      const e = catchError(() => [...readLines(file, chunk)]) as DataError;
      expect(e).toBeInstanceOf(DataError);
      expect(e.file).toBe(file);
      expect(e.line).toBe(3);
      expect(e.message).toContain('invalid UTF-8');
    }
  });
  it('a missing file is a DataError naming it', () => {
    const missing = path.join(dir, 'nope.txt');
    const e = catchError(() => [...readLines(missing)]) as DataError;
    expect(e).toBeInstanceOf(DataError);
    expect(e.file).toBe(missing);
  });
});

describe('text documents', () => {
  const dir = tempDir();
  it('one document per file by default, trailing newline dropped', () => {
    const file = write(dir, 'a.txt', 'para one\nline two\n\npara two\n');
    expect([...readTextDocuments(file)].map((d) => [d.text, d.line])).toEqual([['para one\nline two\n\npara two', 1]]);
  });
  it("split: 'blank-line' yields paragraphs with their start lines; whitespace-only lines are blank", () => {
    const file = write(dir, 'b.txt', '\n\nfirst\nstill first\r\n  \t\r\nsecond\n\n\n\nthird\n\n');
    const docs = [...readTextDocuments(file, { split: 'blank-line' })];
    expect(docs.map((d) => d.text)).toEqual(['first\nstill first', 'second', 'third']);
    expect(docs.map((d) => d.line)).toEqual([3, 6, 10]);
  });
  it('empty files are skipped unless skipEmpty is false', () => {
    const file = write(dir, 'empty.txt', '');
    expect([...readTextDocuments(file)]).toEqual([]);
    expect([...readTextDocuments(file, { skipEmpty: false })].map((d) => d.text)).toEqual(['']);
  });
});

describe('folders', () => {
  const dir = tempDir();
  write(dir, 'corpus/b.txt', 'bee');
  write(dir, 'corpus/a.md', 'ay');
  write(dir, 'corpus/sub/z.jsonl', '{"text":"zed 1"}\n{"text":"zed 2"}\n');
  write(dir, 'corpus/sub/deeper/c.txt', 'see');
  write(dir, 'corpus/B.txt', 'capital bee');
  write(dir, 'corpus/skip.csv', 'not,read');
  write(dir, 'corpus/.hidden.txt', 'hidden');
  write(dir, 'corpus/.git/x.txt', 'hidden');
  const root = path.join(dir, 'corpus');
  it('walks recursively in code-unit order, filtering by extension, skipping hidden entries', () => {
    expect(listSourceFiles(root).map((f) => path.relative(root, f))).toEqual(
      ['B.txt', 'a.md', 'b.txt', path.join('sub', 'deeper', 'c.txt'), path.join('sub', 'z.jsonl')]);
    expect(listSourceFiles(root, { extensions: ['.md'] }).map((f) => path.basename(f))).toEqual(['a.md']);
  });
  it('reads every document in order; files named explicitly are read whatever their extension', () => {
    expect([...readDocuments(root)].map((d) => d.text)).toEqual(['capital bee', 'ay', 'bee', 'see', 'zed 1', 'zed 2']);
    expect([...readDocuments([path.join(root, 'skip.csv'), path.join(root, 'b.txt')])].map((d) => d.text)).toEqual(['not,read', 'bee']);
  });
  it('a missing path is a DataError naming it', () => {
    expect(() => listSourceFiles(path.join(dir, 'missing'))).toThrow(DataError);
    expect(() => listSourceFiles(path.join(dir, 'missing'))).toThrow('missing: no such file or folder');
  });
});

describe('JSONL', () => {
  const dir = tempDir();
  it('streams {"text"} records larger than the read chunk, skipping blank lines', () => {
    const texts = Array.from({ length: 300 }, (_, i) => `doc ${i} ` + 'ünïcode '.repeat(i * 7) + '\n"quoted"');
    const file = write(dir, 'big.jsonl', texts.map((t, i) => (i % 50 === 0 ? '\n' : '') + JSON.stringify({ text: t, id: i })).join('\n') + '\n');
    expect(fs.statSync(file).size).toBeGreaterThan(3 << 16);
    const docs = [...readJsonlDocuments(file)];
    expect(docs.map((d) => d.text)).toEqual(texts);
    expect(docs[1].line).toBe(3); // line 1 is blank, line 2 is record 0
  });
  it('yields good records before reaching a bad line (it does not read ahead)', () => {
    const file = write(dir, 'lazy.jsonl', '{"text":"one"}\n{"text":\n');
    const it = readJsonlDocuments(file);
    expect(it.next().value?.text).toBe('one');
    expect(() => it.next()).toThrow(DataError);
  });
  const cases: [string, string, string][] = [
    ['invalid JSON', '{"text": "a",}', 'invalid JSON'],
    ['not an object', '["text"]', 'expected a JSON object, got an array'],
    ['a bare string', '"text"', 'expected a JSON object, got a string'],
    ['missing text', '{"body": "x"}', 'missing "text"'],
    ['non-string text', '{"text": 42}', '"text" must be a string, got a number'],
    ['null text', '{"text": null}', '"text" must be a string, got null'],
  ];
  for (const [name, bad, expected] of cases) {
    it(`${name} -> DataError naming file and line`, () => {
      const file = write(dir, `${name.replace(/ /g, '_')}.jsonl`, `{"text":"fine"}\n\n${bad}\n{"text":"never read"}\n`);
      const e = catchError(() => [...readDocuments(file)]) as DataError;
      expect(e).toBeInstanceOf(DataError);
      expect(e.file).toBe(file);
      expect(e.line).toBe(3);
      expect(e.message).toContain(`${file}:3: `);
      expect(e.message).toContain(expected);
    });
  }
  it('readJsonl: custom validators get file:line added; other errors pass through unchanged', () => {
    const file = write(dir, 'pairs.jsonl', '{"q":"a","n":1}\n{"q":"b","n":-1}\n');
    const validate = (v: unknown) => {
      const o = expectObject(v);
      if (typeof o.n !== 'number' || o.n < 0) throw new DataError(`"n" must be a non-negative number, got ${String(o.n)}`);
      return { q: expectString(o, 'q'), n: o.n };
    };
    const it = readJsonl(file, validate);
    expect(it.next().value).toEqual({ q: 'a', n: 1 });
    expect(() => it.next()).toThrow(`${file}:2: "n" must be a non-negative number, got -1`);
    const bug = new TypeError('a bug in the validator');
    expect(() => [...readJsonl(file, () => { throw bug; })]).toThrow(bug);
  });
});
