/**
 * Tensor: a shape and dtype over native storage. Data never lives in JS; `toArray()` and
 * `item()` copy out. Memory is freed deterministically by `dispose()` or by the scope the
 * tensor was made in (see scope.ts); the autograd graph may hold a tensor past its scope
 * until backward has used it.
 */
import { DisposedTensorError } from '../errors.js';
import { native, type NativeHandle } from '../native/binding.js';
import type { GraphNode } from '../autograd/graph.js';
import { sizeOf, shapeStr, type Shape } from './shape.js';
import { trackTensor, inBackwardPass } from './scope.js';

export type DType = 'float32' | 'int32';
export type Device = 'cpu' | 'cuda';

let nextId = 1;

let toDeviceImpl: ((x: Tensor, device: Device) => Tensor) | null = null;
/** @internal set by src/ops/device.ts (the op lives with the other ops, on the autograd tape). */
export function _setToDevice(fn: (x: Tensor, device: Device) => Tensor): void {
  toDeviceImpl = fn;
}

interface LeakInfo { id: number; shape: string; stack: string }
let leakRegistry: FinalizationRegistry<LeakInfo> | null = null;

/**
 * Debug mode for leaks (also LMT_DEBUG_LEAKS=1): a tensor garbage-collected without dispose()
 * is reported with the stack where it was made. Native memory is freed by the handle's own
 * finalizer either way; this is a backstop and a diagnostic, never the memory plan (it does not
 * run inside a synchronous training loop).
 */
export function setDebugLeaks(on: boolean): void {
  leakRegistry = on
    ? new FinalizationRegistry<LeakInfo>((info) => {
        console.warn(`lmtrain: tensor #${info.id} ${info.shape} was garbage-collected without dispose(); it was created at\n${info.stack}`);
      })
    : null;
}
if (process.env.LMT_DEBUG_LEAKS === '1') setDebugLeaks(true);

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly device: Device;
  /** True for tensors whose gradient is wanted (parameters, or results of ops on them). */
  requiresGrad = false;
  /** Accumulated gradient of a leaf tensor after `backward()`. */
  grad: Tensor | null = null;
  name?: string;

  /** @internal the graph node that produced this tensor (null for leaves). */
  _node: GraphNode | null = null;
  /** @internal number of live graph nodes that saved this tensor for backward. */
  _savedBy = 0;
  /** @internal protected from scope disposal by keep(). */
  _kept = false;
  /** @internal a scope (or dispose()) released it while a graph node still saved it. */
  _pendingRelease = false;
  private _handle: NativeHandle | null;
  private _disposed = false;

  /** @internal use the creation functions (zeros, tensor, randn, ...) instead. */
  constructor(handle: NativeHandle, shape: Shape, dtype: DType, device: Device = 'cpu') {
    this._handle = handle;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.device = device;
    trackTensor(this);
    leakRegistry?.register(this, { id: this.id, shape: shapeStr(shape), stack: (new Error().stack ?? '').split('\n').slice(2, 8).join('\n') }, this);
  }

  get size(): number { return sizeOf(this.shape); }
  get ndim(): number { return this.shape.length; }
  get isDisposed(): boolean { return this._disposed; }

  /** @internal the native handle; throws DisposedTensorError after dispose(). */
  get h(): NativeHandle {
    if (this._handle === null || (this._disposed && !inBackwardPass()))
      throw new DisposedTensorError(`tensor #${this.id} ${shapeStr(this.shape)}${this.name ? ` (${this.name})` : ''} was disposed`);
    return this._handle;
  }

  /**
   * This tensor on `device` ('cpu' or 'cuda'): itself when it is already there, else a copy
   * (differentiable: the gradient is copied back). The CUDA device must be usable
   * (`lmtrain info` says why not), else a DeviceError.
   */
  to(device: Device): Tensor {
    if (!toDeviceImpl) throw new Error('lmtrain: ops not loaded');
    return toDeviceImpl(this, device);
  }

  /** Copies the data out (from the GPU too: waits for queued work). */
  toArray(): Float32Array | Int32Array {
    return native.toArray(this.h);
  }
  /** Copies the data out as a plain number array. */
  toList(): number[] {
    return Array.from(this.toArray());
  }
  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new DisposedTensorError(`item(): tensor ${shapeStr(this.shape)} has ${this.size} elements, expected 1`);
    return this.toArray()[0];
  }

  /** Frees the storage now (or, if the autograd graph still needs it, once it is done). Idempotent. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    if (this.grad && !this.grad._disposed && this.requiresGrad && this._node === null) {
      this.grad.dispose();
      this.grad = null;
    }
    if (this._savedBy > 0) this._pendingRelease = true;
    else this._release();
  }

  /** @internal called by scopes: like dispose(), but a tensor the graph still saves stays usable. */
  _scopeDispose(): void {
    if (this._disposed) return;
    if (this._savedBy > 0) this._pendingRelease = true;
    else this.dispose();
  }

  /** @internal a graph node that saved this tensor is done with it. */
  _unsave(): void {
    this._savedBy--;
    if (this._savedBy === 0 && this._pendingRelease) {
      this._disposed = true;
      this._release();
    }
  }

  private _release(): void {
    leakRegistry?.unregister(this);
    if (this._handle) {
      this._handle.dispose();
      this._handle = null;
    }
  }

  toString(): string {
    return `Tensor(${shapeStr(this.shape)}, ${this.dtype}, ${this.device}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}
