/**
 * Chat templates: conversation -> text, returned as segments that say which characters are
 * the assistant's (trained) and which are prompt (not trained). Each segment is tokenized on
 * its own and the ids are concatenated, so the label mask is exact by construction: no
 * offset mapping from characters back to tokens is needed.
 *
 * - ChatMLTemplate (default): `<|im_start|>role\n content <|im_end|>\n` per message; the
 *   assistant's content and its `<|im_end|>` are trained, so the model learns to stop.
 * - JinjaChatTemplate: the `chat_template` of a Hugging Face tokenizer_config.json, run by
 *   @huggingface/jinja. A Jinja template renders one string, so assistant spans are found by
 *   rendering prefixes: render(messages[:i], add_generation_prompt) is the prompt before
 *   assistant turn i and render(messages[:i+1]) minus that prompt is the turn itself.
 *   Templates whose output for a prefix is not a prefix of the whole are rejected with an
 *   error, since no exact mask exists for them.
 */
import { readFileSync } from 'node:fs';
import { Template } from '@huggingface/jinja';
import { ArgumentError, DataError } from '../errors.js';
import { IM_END, IM_START, EOS } from '../tokenizer/special.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { ChatMessage } from '../data/sft.js';

export interface ChatSegment {
  text: string;
  /** True for assistant output (the tokens the loss is on by default). */
  train: boolean;
}

export interface ChatTemplate {
  readonly name: string;
  /** The whole conversation as segments. */
  segments(messages: readonly ChatMessage[]): ChatSegment[];
  /** The text that asks for the next assistant turn after `messages`. */
  prompt(messages: readonly ChatMessage[]): string;
  /** Token strings that end an assistant turn (generation stops at them). */
  readonly stopTokens: readonly string[];
}

export class ChatMLTemplate implements ChatTemplate {
  readonly name = 'chatml';
  readonly stopTokens = [IM_END, EOS];
  segments(messages: readonly ChatMessage[]): ChatSegment[] {
    const out: ChatSegment[] = [];
    for (const m of messages) {
      const header = `${IM_START}${m.role}\n`;
      if (m.role === 'assistant') {
        out.push({ text: header, train: false }, { text: `${m.content}${IM_END}`, train: true }, { text: '\n', train: false });
      } else out.push({ text: `${header}${m.content}${IM_END}\n`, train: false });
    }
    return mergeSegments(out);
  }
  prompt(messages: readonly ChatMessage[]): string {
    return messages.map((m) => `${IM_START}${m.role}\n${m.content}${IM_END}\n`).join('') + `${IM_START}assistant\n`;
  }
}

export interface JinjaTemplateOpts {
  /** Extra template variables (bos_token, eos_token, ...). */
  variables?: Record<string, unknown>;
  stopTokens?: string[];
  name?: string;
}

export class JinjaChatTemplate implements ChatTemplate {
  readonly name: string;
  readonly stopTokens: readonly string[];
  private readonly template: Template;
  private readonly vars: Record<string, unknown>;
  constructor(readonly source: string, opts: JinjaTemplateOpts = {}) {
    if (typeof source !== 'string' || source.trim() === '') throw new ArgumentError('JinjaChatTemplate: the template is empty');
    try {
      this.template = new Template(source);
    } catch (e) {
      throw new ArgumentError(`JinjaChatTemplate: the template does not parse: ${(e as Error).message}`);
    }
    this.vars = { bos_token: '', eos_token: EOS, ...opts.variables };
    this.stopTokens = opts.stopTokens ?? [IM_END, String(this.vars.eos_token)].filter((s) => s !== '');
    this.name = opts.name ?? 'jinja';
  }

  render(messages: readonly ChatMessage[], addGenerationPrompt: boolean): string {
    try {
      return this.template.render({ ...this.vars, messages: messages.map((m) => ({ ...m })), add_generation_prompt: addGenerationPrompt });
    } catch (e) {
      throw new ArgumentError(`chat template '${this.name}' failed to render: ${(e as Error).message}`);
    }
  }

  segments(messages: readonly ChatMessage[]): ChatSegment[] {
    const out: ChatSegment[] = [];
    let done = '';
    const take = (full: string, train: boolean, what: string): void => {
      if (!full.startsWith(done))
        throw new ArgumentError(`chat template '${this.name}': rendering ${what} does not extend the text rendered before it, so assistant spans cannot be located exactly`);
      out.push({ text: full.slice(done.length), train });
      done = full;
    };
    for (let i = 0; i < messages.length; i++) {
      if (messages[i].role === 'assistant') take(this.render(messages.slice(0, i), true), false, `the prompt before message ${i}`);
      take(this.render(messages.slice(0, i + 1), false), messages[i].role === 'assistant', `message ${i}`);
    }
    return mergeSegments(out.filter((s) => s.text !== ''));
  }

  prompt(messages: readonly ChatMessage[]): string {
    return this.render(messages, true);
  }
}

function mergeSegments(segs: ChatSegment[]): ChatSegment[] {
  const out: ChatSegment[] = [];
  for (const s of segs) {
    const last = out[out.length - 1];
    if (last && last.train === s.train) last.text += s.text;
    else out.push({ ...s });
  }
  return out;
}

const tokenContent = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string' ? (v as { content: string }).content : undefined;

/**
 * A template from a file: a Hugging Face tokenizer_config.json (its `chat_template`, a string
 * or a list of {name, template} where "default" is taken, with its bos/eos tokens), or a
 * plain Jinja file.
 */
export function loadChatTemplate(file: string): JinjaChatTemplate {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DataError(`cannot read the chat template: ${(e as Error).message}`, file);
  }
  if (!file.endsWith('.json')) return new JinjaChatTemplate(text, { name: file });
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new DataError(`invalid JSON: ${(e as Error).message}`, file);
  }
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) throw new DataError('expected a JSON object (tokenizer_config.json)', file);
  let src = cfg.chat_template;
  if (Array.isArray(src)) src = (src.find((t) => t && (t as { name?: unknown }).name === 'default') as { template?: unknown } | undefined)?.template;
  if (typeof src !== 'string') throw new DataError('no "chat_template" string (or list entry named "default") in this tokenizer config', file);
  const variables: Record<string, unknown> = {};
  for (const k of ['bos_token', 'eos_token', 'pad_token', 'unk_token']) {
    const v = tokenContent(cfg[k]);
    if (v !== undefined) variables[k] = v;
  }
  return new JinjaChatTemplate(src, { variables, name: file });
}

// ---- tokens and labels ---------------------------------------------------------------------

export interface EncodedChat {
  ids: Int32Array;
  /** 1 where the token belongs to a trained segment. */
  train: Uint8Array;
}

export function encodeSegments(tok: Tokenizer, segments: readonly ChatSegment[]): EncodedChat {
  const ids: number[] = [], train: number[] = [];
  for (const s of segments) {
    const t = tok.encode(s.text);
    for (const id of t) { ids.push(id); train.push(s.train ? 1 : 0); }
  }
  return { ids: Int32Array.from(ids), train: Uint8Array.from(train) };
}

export const IGNORE = -100;

/**
 * Next-token labels aligned with `ids`: labels[t] = ids[t+1] when token t+1 is trained
 * (every token with trainOnAll), else IGNORE; the last position has no next token.
 */
export function sftLabels(enc: EncodedChat, opts: { trainOnAll?: boolean } = {}): Int32Array {
  const n = enc.ids.length;
  const labels = new Int32Array(n).fill(IGNORE);
  for (let t = 0; t + 1 < n; t++) if (opts.trainOnAll || enc.train[t + 1]) labels[t] = enc.ids[t + 1];
  return labels;
}

/** Token ids of the template's stop strings that this tokenizer has as single tokens. */
export function stopTokenIds(tok: Tokenizer, template: ChatTemplate): number[] {
  return template.stopTokens.map((s) => tok.tokenToId(s)).filter((x): x is number => x !== undefined);
}
