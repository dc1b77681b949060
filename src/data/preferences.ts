/**
 * Feedback data: pairwise preferences {"prompt","chosen","rejected"}, binary feedback on one
 * answer {"prompt","completion","label": true|false} (a thumbs-up or thumbs-down), and bare
 * prompts {"prompt"}. Errors name the file and line.
 */
import { DataError } from '../errors.js';
import { expectObject, expectString, readJsonl } from './readers.js';

export interface PreferencePair { prompt: string; chosen: string; rejected: string }
export interface FeedbackExample { prompt: string; completion: string; label: boolean }
export interface PromptExample { prompt: string }

export function parsePreference(v: unknown): PreferencePair {
  const o = expectObject(v);
  const p = { prompt: expectString(o, 'prompt'), chosen: expectString(o, 'chosen'), rejected: expectString(o, 'rejected') };
  if (p.chosen === p.rejected) throw new DataError('"chosen" and "rejected" are identical');
  return p;
}

export function parseFeedback(v: unknown): FeedbackExample {
  const o = expectObject(v);
  const label = o.label;
  if (typeof label !== 'boolean') throw new DataError(`"label" must be true or false, got ${JSON.stringify(label)}`);
  return { prompt: expectString(o, 'prompt'), completion: expectString(o, 'completion'), label };
}

export function parsePrompt(v: unknown): PromptExample {
  return { prompt: expectString(expectObject(v), 'prompt') };
}

export const readPreferences = (file: string): PreferencePair[] => [...readJsonl(file, parsePreference)];
export const readFeedback = (file: string): FeedbackExample[] => [...readJsonl(file, parseFeedback)];
export const readPrompts = (file: string): PromptExample[] => [...readJsonl(file, parsePrompt)];
