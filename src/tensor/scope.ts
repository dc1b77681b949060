/**
 * Memory scopes. `tidy(fn)` frees every tensor made inside fn except what fn returns and
 * what was `keep()`-ed; graph nodes made inside fn survive only if a returned tensor still
 * depends on them (so a tidy that returns a loss keeps the graph for backward, and one that
 * returns a plain number frees it). Scopes are synchronous: a Promise returned into tidy
 * throws, because the scope would close before the async work ran.
 */
import { native } from '../native/binding.js';
import { ScopeError } from '../errors.js';
import type { Tensor } from './tensor.js';
import type { GraphNode } from '../autograd/graph.js';

interface Scope {
  name: string;
  tensors: Set<Tensor>;
  nodes: GraphNode[];
}

const scopes: Scope[] = [];
/** Graph nodes recorded outside any scope: freed by backward() or disposeGraph(). */
export const rootNodes: GraphNode[] = [];
let backwardDepth = 0;

/** @internal */
export function trackTensor(t: Tensor): void {
  if (scopes.length > 0) scopes[scopes.length - 1].tensors.add(t);
}

/** @internal where a new graph node is registered. */
export function currentNodeList(): GraphNode[] {
  return scopes.length > 0 ? scopes[scopes.length - 1].nodes : rootNodes;
}

/** @internal saved tensors may be read during backward even when a scope released them. */
export function inBackwardPass(): boolean {
  return backwardDepth > 0;
}
/** @internal */
export function withBackwardPass<T>(fn: () => T): T {
  backwardDepth++;
  try {
    return fn();
  } finally {
    backwardDepth--;
  }
}

/** Protects a tensor from disposal by every enclosing scope; the caller owns it. */
export function keep<T extends Tensor>(t: T): T {
  t._kept = true;
  return t;
}

/** Disposes a tensor, or every tensor in an array or object (one level deep). */
export function dispose(x: Tensor | Tensor[] | Record<string, Tensor> | null | undefined): void {
  if (!x) return;
  if (isTensor(x)) x.dispose();
  else if (Array.isArray(x)) x.forEach((t) => t.dispose());
  else Object.values(x).forEach((t) => t.dispose());
}

function isTensor(x: unknown): x is Tensor {
  return typeof x === 'object' && x !== null && 'shape' in x && '_savedBy' in x;
}

function collectTensors(x: unknown, out: Set<Tensor>, depth = 0): void {
  if (depth > 4 || x === null || typeof x !== 'object') return;
  if (isTensor(x)) {
    out.add(x);
    return;
  }
  if (Array.isArray(x)) x.forEach((v) => collectTensors(v, out, depth + 1));
  else if (x instanceof Map) x.forEach((v) => collectTensors(v, out, depth + 1));
  else if (Object.getPrototypeOf(x) === Object.prototype) Object.values(x).forEach((v) => collectTensors(v, out, depth + 1));
}

/**
 * Runs fn in a scope and frees the tensors it made, except the returned ones (a tensor, or
 * tensors in a returned array/object/Map) and kept ones.
 */
export function tidy<T>(fn: () => T): T;
export function tidy<T>(name: string, fn: () => T): T;
export function tidy<T>(a: string | (() => T), b?: () => T): T {
  const name = typeof a === 'string' ? a : 'tidy';
  const fn = typeof a === 'string' ? b! : a;
  const scope: Scope = { name, tensors: new Set(), nodes: [] };
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    closeScope(scope, new Set());
    throw e;
  }
  if (result && typeof (result as { then?: unknown }).then === 'function') {
    closeScope(scope, new Set());
    throw new ScopeError(`${name}: the function returned a Promise; scopes are synchronous (await outside tidy)`);
  }
  const returned = new Set<Tensor>();
  collectTensors(result, returned);
  closeScope(scope, returned);
  return result;
}

function closeScope(scope: Scope, returned: Set<Tensor>): void {
  const popped = scopes.pop();
  if (popped !== scope) throw new ScopeError(`scope '${scope.name}' closed out of order`);
  const parent = scopes.length > 0 ? scopes[scopes.length - 1] : null;
  // Graph nodes a returned tensor depends on move to the parent; the rest are freed.
  const reachable = new Set<GraphNode>();
  const stack: GraphNode[] = [];
  for (const t of returned) if (t._node) stack.push(t._node);
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (reachable.has(n) || n.released) continue;
    reachable.add(n);
    for (const i of n.inputs) if (i._node) stack.push(i._node);
  }
  const parentNodes = parent ? parent.nodes : rootNodes;
  for (const n of scope.nodes) {
    if (reachable.has(n)) parentNodes.push(n);
    else n.release();
  }
  for (const t of scope.tensors) {
    if (returned.has(t)) {
      if (parent) parent.tensors.add(t);
    } else if (!t._kept) {
      t._scopeDispose();
    }
  }
}

export interface MemoryInfo {
  /** Live tensor handles (a reshape shares storage but counts as a tensor). */
  numTensors: number;
  /** Distinct native buffers. */
  numBuffers: number;
  /** Bytes in live buffers (host and device). */
  numBytes: number;
  /** Freed bytes the allocators keep for reuse (host and device). */
  cachedBytes: number;
  /** numTensors is per process (handles are not tracked per device). */
  perDevice: { cpu: { numBytes: number; cachedBytes: number }; cuda: { numBytes: number; cachedBytes: number } };
}

export function memory(): MemoryInfo {
  const m = native.memory();
  return {
    numTensors: m.handles,
    numBuffers: m.storages,
    numBytes: m.bytes + m.cudaBytes,
    cachedBytes: m.cachedBytes + m.cudaCachedBytes,
    perDevice: { cpu: { numBytes: m.bytes, cachedBytes: m.cachedBytes }, cuda: { numBytes: m.cudaBytes, cachedBytes: m.cudaCachedBytes } },
  };
}
