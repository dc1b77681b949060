/**
 * A small, strict argument parser for the subcommands: `--name value`, `--flag`, repeated
 * list options (`--data a b c` or `--data a --data b`), and `--config FILE.json` whose keys
 * fill in anything not given on the command line. Unknown options are errors.
 */
import { readFileSync } from 'node:fs';
import { ArgumentError, DataError } from '../errors.js';
import { requireDevice, setMatmulPrecision } from '../ops/device.js';
import { defaultDeviceChoice } from '../ops/default_device.js';
import type { Device } from '../tensor/tensor.js';

export interface OptionSpec {
  type: 'string' | 'number' | 'boolean' | 'list';
  help: string;
}

export type Parsed = Record<string, string | number | boolean | string[] | undefined>;

export function parseArgs(cmd: string, argv: string[], spec: Record<string, OptionSpec>): Parsed {
  const out: Parsed = {};
  // A command may define --config itself (`bench train --config tiny`); then there is no options file.
  const full: Record<string, OptionSpec> = { config: { type: 'string', help: 'JSON file with these options' }, ...spec, help: { type: 'boolean', help: 'show this help' } };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new ArgumentError(`${cmd}: unexpected argument '${a}'\n\n${usage(cmd, spec)}`);
    const name = a.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const s = full[name];
    if (!s) throw new ArgumentError(`${cmd}: unknown option '${a}'\n\n${usage(cmd, spec)}`);
    if (s.type === 'boolean') { out[name] = true; continue; }
    if (s.type === 'list') {
      const vals: string[] = (out[name] as string[] | undefined) ?? [];
      while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) vals.push(argv[++i]);
      if (vals.length === 0) throw new ArgumentError(`${cmd}: ${a} needs at least one value`);
      out[name] = vals;
      continue;
    }
    if (i + 1 >= argv.length) throw new ArgumentError(`${cmd}: ${a} needs a value`);
    const v = argv[++i];
    if (s.type === 'number') {
      const n = Number(v);
      if (!Number.isFinite(n)) throw new ArgumentError(`${cmd}: ${a} must be a number, got '${v}'`);
      out[name] = n;
    } else out[name] = v;
  }
  if (!('config' in spec) && typeof out.config === 'string') {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(out.config, 'utf8'));
    } catch (e) {
      throw new DataError(`not a readable JSON file: ${(e as Error).message}`, out.config);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new DataError('the config must be a JSON object', out.config);
    for (const [k, v] of Object.entries(json)) if (out[k] === undefined) out[k] = v as Parsed[string];
  }
  return out;
}

export function usage(cmd: string, spec: Record<string, OptionSpec>): string {
  const lines = Object.entries(spec).map(([k, s]) => `  --${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).padEnd(18)} ${s.help}`);
  const file = 'config' in spec ? '' : '\n  --config FILE.json  options from a JSON file (command-line values win)';
  return `usage: lmtrain ${cmd} [options]\n${lines.join('\n')}${file}`;
}

/** For commands that run on the CPU only (bench kernels): --device cpu or nothing. */
export function requireCpu(cmd: string, device: unknown): void {
  if (device !== undefined && device !== 'cpu')
    throw new ArgumentError(`${cmd}: --device must be cpu; got '${String(device)}' (this command times the CPU kernels; scripts/gpu-check.sh times the CUDA ones, and every training command takes --device cuda)`);
}

/** --device and --precision, shared by every command with a CUDA path. */
export const DEVICE_OPTIONS: Record<string, OptionSpec> = {
  device: { type: 'string', help: 'cpu or cuda; default: LMT_DEVICE, else cuda where usable (it passes a self-check against the CPU, see lmtrain info), else cpu' },
  precision: { type: 'string', help: 'CUDA matmuls: fp32 (default), or tf32 / bf16 on tensor cores (fp32 accumulation, weights and optimizer state); bf16 also runs attention on tensor cores' },
};

/**
 * The device of a command with a CUDA path: --device (or a config file's device), else
 * LMT_DEVICE, else the default: cuda where CUDA is usable and passes its self-check at fp32
 * and at the --precision asked for, else cpu (src/ops/default_device.ts; a failed self-check
 * is said on stderr). An explicit 'cuda' where CUDA is unusable is a
 * DeviceError that says why. --precision sets the CUDA matmul precision for the command
 * (main() restores the caller's setting when it ends); on the CPU only fp32 exists, so
 * anything else there is an ArgumentError rather than a silent no-op.
 */
export function resolveDevice(cmd: string, flag: unknown, precision?: unknown): Device {
  const named = flag ?? process.env.LMT_DEVICE;
  if (named !== undefined && named !== 'cpu' && named !== 'cuda') throw new ArgumentError(`${cmd}: --device (or LMT_DEVICE) must be cpu or cuda, got '${String(named)}'`);
  const p = precision ?? 'fp32';
  if (p !== 'fp32' && p !== 'tf32' && p !== 'bf16') throw new ArgumentError(`${cmd}: --precision must be fp32, tf32 or bf16, got '${String(p)}'`);
  let d: Device;
  if (named !== undefined) {
    d = named;
  } else {
    const c = defaultDeviceChoice(p);
    d = c.device;
    if (p !== 'fp32' && d !== 'cuda') throw new ArgumentError(`${cmd}: --precision ${p} is for CUDA matmuls, and the default device here is the CPU (${c.reason})`);
    if (c.warning !== undefined) console.error(c.warning);
  }
  if (p !== 'fp32' && d !== 'cuda') throw new ArgumentError(`${cmd}: --precision ${p} is for CUDA matmuls (add --device cuda); the CPU kernels compute in fp32`);
  requireDevice(d, cmd);
  if (d === 'cuda') setMatmulPrecision(p);
  return d;
}

export function need<T>(cmd: string, v: T | undefined, flag: string): T {
  if (v === undefined || v === '') throw new ArgumentError(`${cmd}: ${flag} is required`);
  return v;
}
