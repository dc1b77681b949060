/**
 * Checkpoint directories (ARCHITECTURE.md §7): config.json, model.safetensors, tokenizer.json,
 * and for resume optimizer.safetensors + trainer_state.json.
 *
 * Atomic replacement. saveCheckpoint writes everything into `DIR.tmp-<pid>-<rand>` (each file
 * fsynced, then the directory), then swaps:
 *   1. rename DIR -> DIR.bak-<pid>-<rand>   (only if DIR exists)
 *   2. rename DIR.tmp-... -> DIR
 *   3. remove the backup, and temp/backup leftovers of dead processes.
 * A crash before 2 leaves the old checkpoint complete (in DIR, or after 1 in the backup);
 * after 2 the new one is complete in DIR. Temp directories are never trusted: a crash can
 * leave one half-written.
 *
 * Recovery rule (loadCheckpoint / findCheckpoint): DIR if it holds config.json and
 * model.safetensors; otherwise the most recent complete `DIR.bak-*` next to it. The next
 * saveCheckpoint cleans the leftovers up.
 *
 * Files in DIR that are not checkpoint files (the output lock, metrics.jsonl, reports) are
 * carried into the new directory as hard links before the swap, so appends through an open
 * descriptor keep landing in the live file. A file first created in DIR during the swap
 * itself could be lost; the output lock keeps other processes out.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ArgumentError, DataError, LmtError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  fsyncDir, readSafetensors, safetensorsFromTensors, writeError, writeFileAtomic, writeSafetensors,
  type SafetensorsEntry, type StoredTensor,
} from './safetensors.js';

export const CHECKPOINT_FILES = {
  config: 'config.json',
  model: 'model.safetensors',
  tokenizer: 'tokenizer.json',
  optimizer: 'optimizer.safetensors',
  trainerState: 'trainer_state.json',
} as const;
const OWN_FILES = new Set<string>(Object.values(CHECKPOINT_FILES));

export interface CheckpointInput {
  config: object;
  weights: Record<string, Tensor | StoredTensor>;
  /** A tokenizer.json object, or its text. */
  tokenizerJson?: object | string;
  optimizer?: Record<string, Tensor | StoredTensor>;
  trainerState?: object;
  /** Written to model.safetensors' __metadata__. */
  metadata?: Record<string, string>;
}

export interface Checkpoint {
  /** The directory actually read: DIR, or a backup of it after an interrupted save. */
  dir: string;
  config: Record<string, unknown>;
  weights: Map<string, SafetensorsEntry>;
  tokenizerJson?: Record<string, unknown>;
  optimizer?: Map<string, SafetensorsEntry>;
  trainerState?: Record<string, unknown>;
}

const rand = (): string => randomBytes(4).toString('hex');

function writeJson(file: string, value: object | string): void {
  writeFileAtomic(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2) + '\n');
}

/**
 * Hard-links (or, across devices, copies) a tree; symlinks are recreated as symlinks. At the
 * top level checkpoint files and names already in dst are skipped.
 */
function carryOver(src: string, dst: string, top = true): void {
  for (const ent of fs.readdirSync(src, { withFileTypes: true })) {
    const from = path.join(src, ent.name), to = path.join(dst, ent.name);
    if (top && (OWN_FILES.has(ent.name) || fs.existsSync(to))) continue;
    if (ent.isDirectory()) {
      fs.mkdirSync(to);
      carryOver(from, to, false);
    } else if (ent.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(from), to);
    } else if (ent.isFile()) {
      try {
        fs.linkSync(from, to);
      } catch {
        fs.copyFileSync(from, to);
      }
    }
  }
}

export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Siblings `BASE.tmp-<pid>-<rand>` / `BASE.bak-<pid>-<rand>` of dir. */
function leftovers(dir: string): { path: string; kind: 'tmp' | 'bak'; pid: number }[] {
  const parent = path.dirname(dir), base = path.basename(dir);
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return [];
  }
  const out: { path: string; kind: 'tmp' | 'bak'; pid: number }[] = [];
  for (const name of names) {
    if (!name.startsWith(base + '.')) continue;
    const m = /^\.(tmp|bak)-(\d+)-[0-9a-f]+$/.exec(name.slice(base.length));
    if (m) out.push({ path: path.join(parent, name), kind: m[1] as 'tmp' | 'bak', pid: Number(m[2]) });
  }
  return out;
}

function isComplete(dir: string): boolean {
  try {
    return fs.statSync(path.join(dir, CHECKPOINT_FILES.config)).isFile() && fs.statSync(path.join(dir, CHECKPOINT_FILES.model)).isFile();
  } catch {
    return false;
  }
}

/** The directory loadCheckpoint would read (see the recovery rule above), or null. */
export function findCheckpoint(dir: string): string | null {
  const abs = path.resolve(dir);
  if (isComplete(abs)) return abs;
  let best: { path: string; mtime: number } | null = null;
  for (const l of leftovers(abs)) {
    if (l.kind !== 'bak' || !isComplete(l.path)) continue;
    const mtime = fs.statSync(path.join(l.path, CHECKPOINT_FILES.model)).mtimeMs;
    if (!best || mtime > best.mtime) best = { path: l.path, mtime };
  }
  return best?.path ?? null;
}

/** Writes a checkpoint to `dir`, replacing any previous one atomically (see the header). */
export function saveCheckpoint(dir: string, ckpt: CheckpointInput): void {
  if (typeof ckpt.config !== 'object' || ckpt.config === null || Array.isArray(ckpt.config))
    throw new ArgumentError('saveCheckpoint: config must be an object');
  if (typeof ckpt.weights !== 'object' || ckpt.weights === null) throw new ArgumentError('saveCheckpoint: weights must be a record of tensors');
  let tokenizerText: string | undefined;
  if (ckpt.tokenizerJson !== undefined) {
    tokenizerText = typeof ckpt.tokenizerJson === 'string' ? ckpt.tokenizerJson : JSON.stringify(ckpt.tokenizerJson);
    try {
      JSON.parse(tokenizerText);
    } catch {
      throw new ArgumentError('saveCheckpoint: tokenizerJson is a string but not valid JSON');
    }
  }
  const abs = path.resolve(dir);
  const parent = path.dirname(abs);
  // What failed and where; the previous checkpoint (if any) is untouched by a failed save.
  const failed = (e: unknown): Error => {
    const w = writeError(e, 'checkpoint folder', abs);
    if (!(w instanceof LmtError) || w.code !== 'LMT_ERR_IO') return w;
    const out = new LmtError(`saveCheckpoint: could not save to ${abs} (any previous checkpoint there is unchanged): ${w.message}`, 'LMT_ERR_IO');
    return Object.assign(out, { errno: (w as { errno?: string }).errno, cause: e });
  };
  const tmp = `${abs}.tmp-${process.pid}-${rand()}`;
  try {
    fs.mkdirSync(parent, { recursive: true });
    fs.mkdirSync(tmp);
  } catch (e) {
    throw failed(e);
  }
  try {
    writeJson(path.join(tmp, CHECKPOINT_FILES.config), ckpt.config);
    writeSafetensors(path.join(tmp, CHECKPOINT_FILES.model), safetensorsFromTensors(ckpt.weights), ckpt.metadata);
    if (tokenizerText !== undefined) writeJson(path.join(tmp, CHECKPOINT_FILES.tokenizer), tokenizerText);
    if (ckpt.optimizer) writeSafetensors(path.join(tmp, CHECKPOINT_FILES.optimizer), safetensorsFromTensors(ckpt.optimizer));
    if (ckpt.trainerState) writeJson(path.join(tmp, CHECKPOINT_FILES.trainerState), ckpt.trainerState);
    const exists = fs.existsSync(abs);
    if (exists && !fs.statSync(abs).isDirectory()) throw new ArgumentError(`saveCheckpoint: ${abs} exists and is not a directory`);
    if (exists) carryOver(abs, tmp);
    // After a crash mid-swap the run's other files sit in the backup; keep them too.
    const recovered = isComplete(abs) ? null : findCheckpoint(abs);
    if (recovered) carryOver(recovered, tmp);
    fsyncDir(tmp);
    let backup: string | undefined;
    if (exists) {
      backup = `${abs}.bak-${process.pid}-${rand()}`;
      fs.renameSync(abs, backup);
    }
    fs.renameSync(tmp, abs);
    fsyncDir(parent);
    if (backup) fs.rmSync(backup, { recursive: true, force: true });
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw failed(e);
  }
  // The new checkpoint is in place; leftovers of interrupted saves are now obsolete.
  for (const l of leftovers(abs)) if (l.pid === process.pid ? l.kind === 'bak' : !pidAlive(l.pid)) fs.rmSync(l.path, { recursive: true, force: true });
}

function readJsonObject(file: string, optional: boolean): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (optional && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DataError(`cannot read: ${(e as Error).message}`, file);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new DataError(`not valid JSON: ${(e as Error).message.slice(0, 200)}`, file);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DataError('must hold a JSON object', file);
  return v as Record<string, unknown>;
}

/** Reads a checkpoint directory (following the recovery rule of the header). */
export function loadCheckpoint(dir: string): Checkpoint {
  const found = findCheckpoint(dir);
  if (!found) {
    const abs = path.resolve(dir);
    const missing = fs.existsSync(abs) ? (fs.existsSync(path.join(abs, CHECKPOINT_FILES.config)) ? CHECKPOINT_FILES.model : CHECKPOINT_FILES.config) : null;
    throw new DataError(missing ? `not a checkpoint: ${missing} is missing (and no complete backup ${path.basename(abs)}.bak-* was found)` : 'checkpoint directory does not exist', missing ? path.join(abs, missing) : abs);
  }
  const config = readJsonObject(path.join(found, CHECKPOINT_FILES.config), false)!;
  const weights = readSafetensors(path.join(found, CHECKPOINT_FILES.model)).tensors;
  const tokenizerJson = readJsonObject(path.join(found, CHECKPOINT_FILES.tokenizer), true);
  const optFile = path.join(found, CHECKPOINT_FILES.optimizer);
  const optimizer = fs.existsSync(optFile) ? readSafetensors(optFile).tensors : undefined;
  const trainerState = readJsonObject(path.join(found, CHECKPOINT_FILES.trainerState), true);
  const out: Checkpoint = { dir: found, config, weights };
  if (tokenizerJson) out.tokenizerJson = tokenizerJson;
  if (optimizer) out.optimizer = optimizer;
  if (trainerState) out.trainerState = trainerState;
  return out;
}

export interface OutputLock {
  path: string;
  /** Removes the lock if it is still ours; idempotent. */
  release(): void;
}

const STALE_GARBAGE_MS = 10_000;

/**
 * Takes `dir/.lock` (created with O_EXCL, holding the pid) so that two runs never write the
 * same output directory. A lock whose pid is dead is taken over; one held by a live process
 * (this one included) is refused with an LmtError.
 */
export function acquireOutputLock(dir: string): OutputLock {
  const abs = path.resolve(dir);
  const lock = path.join(abs, '.lock');
  try {
    fs.mkdirSync(abs, { recursive: true });
  } catch (e) {
    throw writeError(e, 'output folder', abs);
  }
  const mine = `${process.pid}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      let fd: number;
      try {
        fd = fs.openSync(lock, 'wx', 0o644);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw e;
        throw writeError(e, 'the output lock', lock);
      }
      try {
        fs.writeSync(fd, mine);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      let released = false;
      return {
        path: lock,
        release() {
          if (released) return;
          released = true;
          try {
            if (fs.readFileSync(lock, 'utf8') === mine) fs.unlinkSync(lock);
          } catch {
            /* already gone */
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError(e, 'the output lock', lock);
    }
    let held: string;
    let ageMs: number;
    try {
      held = fs.readFileSync(lock, 'utf8');
      ageMs = Date.now() - fs.statSync(lock).mtimeMs;
    } catch {
      continue; // removed between our open and read: try again
    }
    const pid = /^\s*(\d+)\s*$/.test(held) ? Number(held.trim()) : NaN;
    if (Number.isNaN(pid)) {
      // A holder may be between creating the file and writing its pid; only old garbage is stale.
      if (ageMs < STALE_GARBAGE_MS)
        throw new LmtError(`output directory ${abs} is locked (${lock} is being created by another process); try again`, 'LMT_ERR_LOCKED');
    } else if (pid === process.pid || pidAlive(pid)) {
      throw new LmtError(
        `output directory ${abs} is in use by process ${pid}${pid === process.pid ? ' (this process)' : ''}; ` +
          `wait for it to finish or choose another --out (remove ${lock} only if that process is not lmtrain)`,
        'LMT_ERR_LOCKED',
      );
    }
    // Stale: move it aside atomically, then check that what we moved is the lock we judged,
    // not one a racing process created meanwhile.
    const aside = `${lock}.stale-${process.pid}-${rand()}`;
    try {
      fs.renameSync(lock, aside);
    } catch {
      continue;
    }
    const moved = fs.readFileSync(aside, 'utf8');
    if (moved !== held) {
      try {
        fs.linkSync(aside, lock);
      } catch {
        /* someone else holds it now; the retry will see */
      }
    }
    fs.rmSync(aside, { force: true });
  }
  throw new LmtError(`output directory ${abs}: could not take ${lock} (contended); try again`, 'LMT_ERR_LOCKED');
}
