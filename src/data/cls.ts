/**
 * Readers for the supervised formats: classification `{"text", "label"}` (label a string or
 * an integer) and QA `{"question", "context", "answer"}`. For extractive QA the answer must
 * occur in its context; a record where it does not is a DataError naming file and line.
 */
import { DataError } from '../errors.js';
import { readJsonlRecords, expectObject, expectString } from './readers.js';

export type Label = string | number;
export interface ClsExample { text: string; label: Label }
export interface QaExample { question: string; context: string; answer: string }

export function readClassificationJsonl(file: string): ClsExample[] {
  const out: ClsExample[] = [];
  for (const { value } of readJsonlRecords(file, (v) => {
    const o = expectObject(v);
    const text = expectString(o, 'text');
    const label = o.label;
    if (label === undefined) throw new DataError('missing "label"');
    if (!(typeof label === 'string' || (typeof label === 'number' && Number.isInteger(label))))
      throw new DataError(`"label" must be a string or an integer, got ${JSON.stringify(label)}`);
    return { text, label };
  })) out.push(value);
  if (out.length === 0) throw new DataError('no examples', file);
  return out;
}

export function readQaJsonl(file: string, opts: { extractive?: boolean } = {}): QaExample[] {
  const out: QaExample[] = [];
  for (const { value } of readJsonlRecords(file, (v) => {
    const o = expectObject(v);
    const ex = { question: expectString(o, 'question'), context: expectString(o, 'context'), answer: expectString(o, 'answer') };
    if (ex.answer.trim() === '') throw new DataError('"answer" is empty');
    if (opts.extractive && !ex.context.includes(ex.answer))
      throw new DataError(`the answer ${JSON.stringify(ex.answer)} does not occur in its context (extractive QA needs a span of the context)`);
    return ex;
  })) out.push(value);
  if (out.length === 0) throw new DataError('no examples', file);
  return out;
}

/**
 * Label names in a stable order: integers ascending when every label is an integer,
 * otherwise strings sorted, so that the same data always gives the same class ids.
 */
export function labelMap(examples: readonly ClsExample[], known?: readonly string[]): string[] {
  if (known) return [...known];
  const names = [...new Set(examples.map((e) => String(e.label)))];
  const allInt = examples.every((e) => typeof e.label === 'number');
  return allInt ? names.sort((a, b) => Number(a) - Number(b)) : names.sort();
}
