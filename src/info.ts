/** Build and runtime facts: which binary loaded, CPU features, threads, CUDA and why not. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native, loadedFrom } from './native/binding.js';
import { ArgumentError } from './errors.js';

export interface LmtInfo {
  version: string;
  binary: { path: string; kind: string };
  cpu: { features: string; threads: number };
  cuda: { compiled: boolean; available: boolean; devices: number; why: string };
}

function packageVersion(): string {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  for (const p of [join(root, 'package.json'), join(root, '..', 'package.json')]) {
    try {
      return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
    } catch { /* try the next */ }
  }
  return 'unknown';
}

export function info(): LmtInfo {
  const n = native.info();
  return {
    version: packageVersion(),
    binary: { path: loadedFrom.path, kind: loadedFrom.kind },
    cpu: { features: n.cpuFeatures, threads: n.threads },
    cuda: { compiled: n.cudaCompiled, available: n.cudaDevices > 0, devices: n.cudaDevices, why: n.cudaWhy },
  };
}

/** Threads used by CPU kernels (default: LMT_NUM_THREADS, else the number of cores). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new ArgumentError(`setNumThreads: n must be an integer in [1, 1024], got ${n}`);
  native.setNumThreads(n);
}
