/**
 * Define-by-run autograd. An op that ran on a tensor requiring grad records a GraphNode:
 * its inputs, outputs, exactly the tensors its backward needs (`saved`), and the backward
 * function. backward(loss) walks the nodes reachable from the loss in reverse topological
 * order, accumulates leaf gradients into `.grad`, and frees each node (and what it saved)
 * as soon as it has run.
 */
import { ArgumentError, ShapeError } from '../errors.js';
import { currentNodeList, keep, rootNodes, tidy, withBackwardPass } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { ones } from '../tensor/creation.js';
import { native, BinaryOp } from '../native/binding.js';

export type BackwardFn = (gradOutputs: (Tensor | null)[]) => (Tensor | null)[];

export class GraphNode {
  released = false;
  constructor(
    readonly op: string,
    readonly inputs: Tensor[],
    readonly outputs: Tensor[],
    public saved: Tensor[],
    public backwardFn: BackwardFn | null,
  ) {}

  /** Drops the saved tensors; a tensor some scope already released is freed now. */
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const t of this.saved) t._unsave();
    this.saved = [];
    this.backwardFn = null;
    for (const o of this.outputs) if (o._node === this) o._node = null;
  }
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording a graph (evaluation, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

// ---- the gradient registry ------------------------------------------------------------------
const registry = new Map<string, { differentiable: boolean }>();

/** Declares an op name; each op module registers itself once at load time. */
export function registerOp(name: string, opts: { differentiable: boolean } = { differentiable: true }): void {
  if (registry.has(name)) throw new Error(`op '${name}' registered twice`);
  registry.set(name, opts);
}
/** Names of the registered differentiable ops (the gradcheck meta-test reads this). */
export function differentiableOps(): string[] {
  return [...registry].filter(([, o]) => o.differentiable).map(([n]) => n);
}

/**
 * Records an op on the graph when grad mode is on and some input requires grad.
 * `saved` lists exactly what backward reads; it stays alive until backward (or the
 * enclosing scope) releases the node.
 */
export function record(op: string, inputs: Tensor[], outputs: Tensor[], saved: Tensor[], backwardFn: BackwardFn): void {
  if (!gradEnabled || !inputs.some((t) => t.requiresGrad)) return;
  if (!registry.has(op)) throw new Error(`op '${op}' recorded without registerOp`);
  const node = new GraphNode(op, inputs, outputs, saved, backwardFn);
  for (const t of saved) t._savedBy++;
  for (const o of outputs) {
    o.requiresGrad = true;
    o._node = node;
  }
  currentNodeList().push(node);
}

/** Op names that backward() has run, for the gradcheck meta-test. */
export const executedBackwardOps = new Set<string>();

/**
 * Backpropagates from `loss` (a one-element tensor, or any tensor with `gradOutput`).
 * Leaf gradients accumulate into `.grad` (kept: the owner disposes them, e.g. zeroGrad).
 */
export function backward(loss: Tensor, gradOutput?: Tensor): void {
  if (!loss.requiresGrad || !loss._node)
    throw new ArgumentError('backward: the loss does not depend on any tensor that requires grad (or its graph was already used)');
  if (!gradOutput && loss.size !== 1)
    throw new ShapeError(`backward: the loss has shape [${loss.shape.join(',')}]; pass gradOutput for a non-scalar`);
  if (gradOutput && gradOutput.size !== loss.size)
    throw new ShapeError(`backward: gradOutput has ${gradOutput.size} elements, the loss ${loss.size}`);

  // Reverse topological order of the nodes the loss depends on.
  const order: GraphNode[] = [];
  const seen = new Set<GraphNode>();
  const visit = (root: GraphNode): void => {
    const stack: [GraphNode, number][] = [[root, 0]];
    seen.add(root);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const [node, i] = top;
      if (i < node.inputs.length) {
        top[1]++;
        const child = node.inputs[i]._node;
        if (child && !child.released && !seen.has(child)) {
          seen.add(child);
          stack.push([child, 0]);
        }
      } else {
        stack.pop();
        order.push(node);
      }
    }
  };
  visit(loss._node);

  withBackwardPass(() =>
    noGrad(() =>
      tidy('backward', () => {
        const grads = new Map<Tensor, Tensor>();
        grads.set(loss, gradOutput ?? onesLike(loss));
        for (let k = order.length - 1; k >= 0; k--) {
          const node = order[k];
          const gouts = node.outputs.map((o) => grads.get(o) ?? null);
          for (const o of node.outputs) grads.delete(o);
          if (gouts.every((g) => g === null) || !node.backwardFn) {
            node.release();
            continue;
          }
          const gins = node.backwardFn(gouts);
          executedBackwardOps.add(node.op);
          node.release();
          // A backward may hand one tensor to several inputs (or pass its gradOutput
          // through): copy repeats so that every accumulated gradient owns its storage.
          const used = new Set<Tensor>();
          for (let j = 0; j < gins.length; j++) {
            const g = gins[j];
            if (!g) continue;
            if (used.has(g) || gouts.includes(g) || g === gradOutput) gins[j] = cloneT(g);
            used.add(g);
          }
          for (const g of gouts) if (g && g !== gradOutput) g.dispose();
          node.inputs.forEach((input, j) => {
            const g = gins[j];
            if (!g) return;
            if (!input.requiresGrad) {
              g.dispose();
              return;
            }
            if (g.size !== input.size)
              throw new ShapeError(`backward of '${node.op}': gradient for input ${j} has ${g.size} elements, the input ${input.size}`);
            if (input._node) {
              const prev = grads.get(input);
              if (prev) {
                grads.set(input, addInto(prev, g));
                g.dispose();
              } else grads.set(input, g);
            } else {
              accumulateLeaf(input, g);
            }
          });
        }
        for (const g of grads.values()) if (g !== gradOutput) g.dispose();
      }),
    ),
  );
  // Nodes of this graph that were not on the loss's path stay for the scope to free.
  const idx = rootNodes.filter((n) => !n.released);
  rootNodes.length = 0;
  rootNodes.push(...idx);
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (leaf.grad && !leaf.grad.isDisposed) {
    addInto(leaf.grad, g);
    g.dispose();
  } else {
    leaf.grad = keep(g.shape.length === leaf.shape.length ? g : reshapeLike(g, leaf));
  }
}

/** Frees every graph node recorded outside a scope (e.g. after a forward pass never backpropagated). */
export function disposeGraph(): void {
  for (const n of rootNodes) n.release();
  rootNodes.length = 0;
}

// The few tensor operations backward itself needs, done directly so that the graph works
// whichever op modules a program imported (they all import this file).
function onesLike(t: Tensor): Tensor {
  return ones(t.shape, 'float32', t.device);
}
function addInto(dst: Tensor, src: Tensor): Tensor {
  native.binary(dst.h, dst.h, src.h, [dst.size], [1], [1], BinaryOp.add);
  return dst;
}
function cloneT(t: Tensor): Tensor {
  const out = new Tensor(native.empty('float32', t.size, t.device), t.shape, 'float32', t.device);
  native.copyStrided(out.h, t.h, [t.size], [1], 0, 0);
  return out;
}
function reshapeLike(g: Tensor, like: Tensor): Tensor {
  return new Tensor(native.view(g.h), like.shape, g.dtype, g.device);
}
