/** Build and runtime facts: which binary loaded, CPU features, threads, CUDA and why not. */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native, loadedFrom } from './native/binding.js';
import { ArgumentError } from './errors.js';

export interface CudaDeviceInfo {
  index: number;
  name?: string;
  /** e.g. "9.0" */
  computeCapability?: string;
  multiprocessors?: number;
  totalBytes?: number;
  freeBytes?: number;
  /** Set when the device could not be queried. */
  error?: string;
}

export interface LmtInfo {
  version: string;
  binary: {
    path: string;
    /** 'prebuild' (prebuilds/ shipped in the package) or 'local build' (build/Release|Debug). */
    kind: string;
    bytes: number | null;
    /** Highest GLIBC_x.y symbol version the binary imports: the oldest glibc it loads on. */
    glibcFloor: string | null;
  };
  runtime: { node: string; napi: string; platform: string; arch: string; glibc: string | null };
  cpu: { features: string; threads: number };
  cuda: {
    compiled: boolean;
    available: boolean;
    devices: number;
    /** Why CUDA is unusable ('' when it is usable). */
    why: string;
    /** CUDA runtime the binary was built with (static cudart), e.g. "13.0"; null without CUDA. */
    runtime: string | null;
    /** Compute capabilities the kernels were compiled for, e.g. ["8.0", "8.6", "8.9", "9.0"]. */
    archs: string[];
    /** Oldest NVIDIA driver that runs this CUDA version (Linux); null without CUDA. */
    driverFloor: string | null;
    deviceList: CudaDeviceInfo[];
  };
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

function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  }
  return 0;
}

/** The highest GLIBC_x.y version string in the binary's dynamic string table (what `objdump -T` shows). */
function glibcFloor(file: string): string | null {
  try {
    const text = readFileSync(file).toString('latin1');
    let best: string | null = null;
    for (const m of text.matchAll(/GLIBC_(\d+\.\d+(?:\.\d+)?)\0/g)) {
      if (best === null || compareVersions(m[1]!, best) > 0) best = m[1]!;
    }
    return best;
  } catch {
    return null;
  }
}

function hostGlibc(): string | null {
  try {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    return header?.glibcVersionRuntime ?? null;
  } catch {
    return null;
  }
}

/** Linux minimum driver per CUDA major version (NVIDIA's CUDA toolkit release notes). */
const DRIVER_FLOOR: Record<number, string> = { 11: '450.80.02', 12: '525.60.13', 13: '580' };

export function info(): LmtInfo {
  const n = native.info();
  let bytes: number | null = null;
  try { bytes = statSync(loadedFrom.path).size; } catch { /* unknown */ }
  const rv = n.cudaRuntimeVersion ?? 0;
  const major = Math.floor(rv / 1000);
  return {
    version: packageVersion(),
    binary: { path: loadedFrom.path, kind: loadedFrom.kind, bytes, glibcFloor: glibcFloor(loadedFrom.path) },
    runtime: {
      node: process.versions.node,
      napi: process.versions.napi ?? 'unknown',
      platform: process.platform,
      arch: process.arch,
      glibc: hostGlibc(),
    },
    cpu: { features: n.cpuFeatures, threads: n.threads },
    cuda: {
      compiled: n.cudaCompiled,
      available: n.cudaDevices > 0,
      devices: n.cudaDevices,
      why: n.cudaWhy,
      runtime: n.cudaCompiled && rv > 0 ? `${major}.${(rv % 1000) / 10}` : null,
      archs: (n.cudaArchs ?? '').split(',').filter(Boolean).map((a) => `${a.slice(0, -1)}.${a.slice(-1)}`),
      driverFloor: n.cudaCompiled ? (DRIVER_FLOOR[major] ?? null) : null,
      deviceList: (n.cudaDeviceList ?? []).map((d) => ({ ...d })),
    },
  };
}

/** Threads used by CPU kernels (default: LMT_NUM_THREADS, else the number of cores). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new ArgumentError(`setNumThreads: n must be an integer in [1, 1024], got ${n}`);
  native.setNumThreads(n);
}
