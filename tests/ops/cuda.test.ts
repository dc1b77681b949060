// Devices: tensors move with .to(), ops refuse mixed devices, and where a GPU is usable the
// whole op suite runs on it against the CPU ops (src/ops/cuda_check.ts; on the lent GPU
// machine scripts/gpu-check.sh runs the same suite from dist/). Without a usable GPU the
// CUDA path must fail with a DeviceError that says why.
import { describe, expect, it } from 'vitest';
import { tensor, zeros, randn, DeviceError, ArgumentError, info, cudaAvailable, checkCudaOps, add, nn, GPT, gptConfig, memory, defaultDeviceChoice, chooseDefaultDevice, manualSeed, getRngState, getMatmulPrecision, type DefaultDeviceProbe } from '../../src/index.js';
import { resolveDevice } from '../../src/cli/args.js';

describe('devices', () => {
  it('to(cpu) on a CPU tensor is the tensor itself; bad device names are DeviceErrors', () => {
    const x = tensor([1, 2, 3]);
    expect(x.to('cpu')).toBe(x);
    expect(x.device).toBe('cpu');
    expect(() => x.to('gpu' as 'cuda')).toThrow(DeviceError);
    expect(() => zeros([2], 'float32', 'tpu' as 'cuda')).toThrow(DeviceError);
    x.dispose();
  });

  it('--device / LMT_DEVICE: names checked; the default is cuda only where usable and self-checked', () => {
    const prev = process.env.LMT_DEVICE;
    delete process.env.LMT_DEVICE;
    try {
      // The self-check (on the first ask) leaves the caller's RNG stream and precision alone.
      manualSeed(3);
      const rng = getRngState();
      const def = defaultDeviceChoice();
      expect(getRngState()).toEqual(rng);
      expect(getMatmulPrecision()).toBe('fp32');
      expect(resolveDevice('pretrain', undefined)).toBe(def.device);
      if (!cudaAvailable()) {
        expect(def).toEqual({ device: 'cpu', reason: `CUDA is not usable: ${info().cuda.why}` });
        // --precision needs CUDA; with no --device that error names why the default is the CPU.
        expect(() => resolveDevice('sft', undefined, 'bf16')).toThrow(/default device here is the CPU \(CUDA is not usable/);
      } else {
        // A GPU that passes the self-check (the emulation does) is the default, and asking
        // again reuses the answer.
        expect(def.device).toBe('cuda');
        expect(def.reason).toMatch(/self-check passed \(largest difference from the CPU/);
        expect(defaultDeviceChoice()).toBe(def);
      }
      expect(() => resolveDevice('pretrain', 'gpu')).toThrow(ArgumentError);
      expect(() => resolveDevice('pretrain', 'cpu', 'tf32')).toThrow(/add --device cuda/);
      process.env.LMT_DEVICE = 'tpu';
      expect(() => resolveDevice('pretrain', undefined)).toThrow(ArgumentError);
      expect(resolveDevice('pretrain', 'cpu')).toBe('cpu');
      process.env.LMT_DEVICE = 'cpu';
      expect(resolveDevice('pretrain', undefined)).toBe('cpu');
    } finally {
      if (prev === undefined) delete process.env.LMT_DEVICE;
      else process.env.LMT_DEVICE = prev;
    }
  });

  it('the default-device choice: no CUDA, a passing self-check, a failing or throwing one', () => {
    const probe = (selfCheck: DefaultDeviceProbe['selfCheck'], usable = true): DefaultDeviceProbe =>
      ({ usable, why: usable ? '' : 'no NVIDIA driver (libcuda.so.1 not found)', gpu: () => 'NVIDIA H200 (compute capability 9.0)', selfCheck });
    let ran = 0;
    const pass = () => { ran++; return { name: 'gpt', err: 3.2e-7, tol: 1e-4, ok: true }; };
    expect(chooseDefaultDevice(probe(pass, false))).toEqual({ device: 'cpu', reason: 'CUDA is not usable: no NVIDIA driver (libcuda.so.1 not found)' });
    expect(ran).toBe(0); // nothing runs on a GPU that is not there
    const ok = chooseDefaultDevice(probe(pass));
    expect(ok.device).toBe('cuda');
    expect(ok.reason).toBe('NVIDIA H200 (compute capability 9.0); self-check passed (largest difference from the CPU 3.2e-7, bound 1e-4)');
    expect(ok.warning).toBeUndefined();
    const bad = chooseDefaultDevice(probe(() => ({ name: 'gpt', err: 0.25, tol: 1e-4, ok: false })));
    expect(bad.device).toBe('cpu');
    expect(bad.reason).toBe('NVIDIA H200 (compute capability 9.0) failed the CUDA self-check (largest difference from the CPU 2.50e-1 > bound 1e-4)');
    expect(bad.warning).toMatch(/running on the CPU\. --device cuda \(or LMT_DEVICE=cuda\) uses the GPU anyway/);
    const threw = chooseDefaultDevice(probe(() => { throw new Error('cudaErrorNoKernelImageForDevice'); }));
    expect(threw.device).toBe('cpu');
    expect(threw.reason).toContain('cudaErrorNoKernelImageForDevice');
    // NaN never passes, even where a broken comparison calls it ok.
    expect(chooseDefaultDevice(probe(() => ({ name: 'gpt', err: NaN, tol: 1e-4, ok: true }))).device).toBe('cpu');
    // A tensor-core precision runs fp32 first, then its own steps; both must pass.
    const asked: string[] = [];
    const bf16Bad = probe((p) => { asked.push(p); return p === 'bf16' ? { name: 'gpt', err: 0.3, tol: 1e-2, ok: false } : { name: 'gpt', err: 1e-7, tol: 1e-4, ok: true }; });
    const b = chooseDefaultDevice(bf16Bad, 'bf16');
    expect(asked).toEqual(['fp32', 'bf16']);
    expect(b.device).toBe('cpu');
    expect(b.reason).toBe('NVIDIA H200 (compute capability 9.0) failed the CUDA self-check at bf16 matmuls (largest difference from the CPU 3.00e-1 > bound 1e-2)');
    expect(chooseDefaultDevice(bf16Bad, 'fp32').device).toBe('cuda');
    const t = chooseDefaultDevice(probe((p) => (p === 'tf32' ? { name: 'gpt', err: 2e-4, tol: 2e-3, ok: true } : { name: 'gpt', err: 4e-7, tol: 1e-4, ok: true })), 'tf32');
    expect(t.reason).toBe('NVIDIA H200 (compute capability 9.0); self-check passed (largest difference from the CPU 4.0e-7, bound 1e-4; at tf32: largest difference from the CPU 2.0e-4, bound 2e-3)');
  });

  it('Module.to(cpu) keeps the parameters', () => {
    const m = new nn.Linear(3, 2);
    const before = m.parameters();
    m.to('cpu');
    expect(m.parameters()).toEqual(before);
    expect(m.device).toBe('cpu');
    m.dispose();
  });

  if (!cudaAvailable()) {
    it('without a usable GPU, CUDA tensors are a DeviceError naming the reason', () => {
      const why = info().cuda.why;
      expect(why.length).toBeGreaterThan(0);
      const x = tensor([1, 2]);
      expect(() => x.to('cuda')).toThrow(DeviceError);
      expect(() => x.to('cuda')).toThrow(why);
      expect(() => randn([2], { device: 'cuda' })).toThrow(DeviceError);
      // The commands with a CUDA path (pretrain, bench train) refuse it the same way.
      expect(() => resolveDevice('pretrain', 'cuda')).toThrow(why);
      x.dispose();
    });
  } else {
    it('copies round-trip exactly and mixed devices are refused', () => {
      const x = randn([1000]);
      const g = x.to('cuda');
      expect(g.device).toBe('cuda');
      expect(Array.from(g.to('cpu').toArray())).toEqual(Array.from(x.toArray()));
      expect(() => add(x, g)).toThrow(DeviceError);
      expect(memory().perDevice.cuda.numBytes).toBeGreaterThan(0);
    });

    it('every op matches the CPU op on the GPU (forward and gradients), and a GPT step', () => {
      const res = checkCudaOps();
      for (const r of res) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: ${r.err.toExponential(2)} (tol ${r.tol})${r.detail ? ` ${r.detail}` : ''}`);
      expect(res.filter((r) => !r.ok)).toEqual([]);
      expect(res.length).toBeGreaterThan(35);
    }, 600_000); // a GPU takes seconds; the CPU emulation of CUDA (LMT_ADDON) about a minute

    it('GPT moves to the GPU whole', () => {
      const m = new GPT(gptConfig({ vocab_size: 50, n_positions: 16, n_layer: 1, n_head: 2, n_embd: 32 })).to('cuda');
      expect(m.parameters().every((p) => p.device === 'cuda')).toBe(true);
      m.dispose();
    });
  }
});
