/**
 * Instruction-tuning data (ARCHITECTURE.md §7): one JSONL record per conversation, either
 *   {"instruction": ..., "input"?: ..., "response": ...}      (Alpaca style, one turn)
 *   {"messages": [{"role": "system"|"user"|"assistant", "content": ...}, ...]}
 * Both become a list of chat messages. Validation is strict because a silently skipped or
 * mis-typed turn changes what the model is trained to say; errors name the file and line.
 */
import { DataError } from '../errors.js';
import { expectObject, expectString, optionalString, readJsonlRecords } from './readers.js';

export type ChatRole = 'system' | 'user' | 'assistant';
export interface ChatMessage { role: ChatRole; content: string }
export interface SftExample {
  messages: ChatMessage[];
  /** 1-based line in `file` (absent for examples made in code). */
  line?: number;
  file?: string;
}

const ROLES: ReadonlySet<string> = new Set(['system', 'user', 'assistant']);
const INSTRUCTION_KEYS = new Set(['instruction', 'input', 'response']);

/** The messages of one parsed record; throws DataError without a file (readJsonl adds it). */
export function parseSftRecord(value: unknown): ChatMessage[] {
  const rec = expectObject(value);
  if ('messages' in rec) {
    const extra = Object.keys(rec).filter((k) => k !== 'messages');
    if (extra.length) throw new DataError(`a "messages" record cannot also have ${extra.map((k) => `"${k}"`).join(', ')}`);
    const msgs = rec.messages;
    if (!Array.isArray(msgs)) throw new DataError('"messages" must be an array of {"role", "content"} objects');
    if (msgs.length === 0) throw new DataError('"messages" is empty');
    const out = msgs.map((m, i): ChatMessage => {
      let o: Record<string, unknown>;
      try {
        o = expectObject(m);
      } catch {
        throw new DataError(`messages[${i}] must be an object with "role" and "content"`);
      }
      const role = o.role;
      if (typeof role !== 'string' || !ROLES.has(role))
        throw new DataError(`messages[${i}].role must be "system", "user" or "assistant", got ${JSON.stringify(role)}`);
      if (typeof o.content !== 'string') throw new DataError(`messages[${i}].content must be a string`);
      const extraKeys = Object.keys(o).filter((k) => k !== 'role' && k !== 'content');
      if (extraKeys.length) throw new DataError(`messages[${i}] has unknown field(s) ${extraKeys.map((k) => `"${k}"`).join(', ')}`);
      return { role: role as ChatRole, content: o.content };
    });
    out.forEach((m, i) => {
      if (m.role === 'system' && i !== 0) throw new DataError(`messages[${i}]: a system message may only come first`);
    });
    if (!out.some((m) => m.role === 'assistant')) throw new DataError('"messages" has no assistant turn: nothing to learn from');
    return out;
  }
  const extra = Object.keys(rec).filter((k) => !INSTRUCTION_KEYS.has(k));
  if (extra.length) throw new DataError(`unknown field(s) ${extra.map((k) => `"${k}"`).join(', ')}; expected "instruction", "input", "response" or "messages"`);
  const instruction = expectString(rec, 'instruction');
  const input = optionalString(rec, 'input');
  const response = expectString(rec, 'response');
  if (instruction.trim() === '') throw new DataError('"instruction" is empty');
  if (response.trim() === '') throw new DataError('"response" is empty');
  return instructionMessages(instruction, input, response);
}

/** The chat form of an instruction record: the input (if any) follows the instruction. */
export function instructionMessages(instruction: string, input: string | undefined, response: string): ChatMessage[] {
  const user = input && input.trim() !== '' ? `${instruction}\n\n${input}` : instruction;
  return [{ role: 'user', content: user }, { role: 'assistant', content: response }];
}

/** Every example of an SFT JSONL file (blank lines skipped). */
export function readSftJsonl(file: string): SftExample[] {
  const out: SftExample[] = [];
  for (const r of readJsonlRecords(file, (v) => parseSftRecord(v))) out.push({ messages: r.value, line: r.line, file });
  if (out.length === 0) throw new DataError('no SFT examples', file);
  return out;
}

/** One JSONL line for an example, in the "messages" form. */
export function sftJsonlLine(messages: readonly ChatMessage[]): string {
  return JSON.stringify({ messages: messages.map((m) => ({ role: m.role, content: m.content })) });
}
