/**
 * Elementwise ops. Binary ops broadcast numpy-style (a number is a 0-d tensor); their
 * gradients are reduced back to each input's shape with sumTo. Unary ops run one native
 * kernel forward and one backward.
 */
import { native, BinaryOp, UnaryOp, type BinaryOpName, type UnaryOpName } from '../native/binding.js';
import { record, registerOp } from '../autograd/graph.js';
import { Tensor } from '../tensor/tensor.js';
import { scalar } from '../tensor/creation.js';
import { broadcastShapes, broadcastStrides } from '../tensor/shape.js';
import { sumTo } from './shape.js';
import { assertFinite, assertFloat, empty } from './util.js';

type Operand = Tensor | number;

for (const n of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'pow']) registerOp(n);
for (const n of ['neg', 'exp', 'log', 'tanh', 'sqrt', 'rsqrt', 'relu', 'sigmoid', 'abs', 'square', 'reciprocal', 'affine']) registerOp(n);

function operand(x: Operand, op: string, arg: string, other: Operand): { t: Tensor; temp: boolean } {
  if (typeof x === 'number') {
    if (Number.isNaN(x)) assertFinite(x, op, arg);
    // A number joins the other operand's device.
    return { t: scalar(x, other instanceof Tensor ? other.device : 'cpu'), temp: true };
  }
  assertFloat(x, op, arg);
  return { t: x, temp: false };
}

/** Raw broadcasting kernel call, no graph. */
function rawBinary(a: Tensor, b: Tensor, op: BinaryOpName, what: string): Tensor {
  const shape = broadcastShapes(a.shape, b.shape, what);
  const out = empty(a.device, shape);
  native.binary(out.h, a.h, b.h, shape, broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape), BinaryOp[op]);
  return out;
}

function rawUnary(x: Tensor, op: UnaryOpName, alpha = 1, beta = 0): Tensor {
  const out = empty(x.device, x.shape);
  native.unary(out.h, x.h, UnaryOp[op], alpha, beta);
  return out;
}

function binary(name: string, op: BinaryOpName, a0: Operand, b0: Operand,
  grad: (g: Tensor, a: Tensor, b: Tensor, out: Tensor) => [Tensor | null, Tensor | null], saveOut = false): Tensor {
  const A = operand(a0, name, 'a', b0), B = operand(b0, name, 'b', a0);
  const a = A.t, b = B.t;
  const out = rawBinary(a, b, op, name);
  record(name, [a, b], [out], saveOut ? [a, b, out] : [a, b], ([g]) => {
    const [ga, gb] = grad(g!, a, b, out);
    const ra = ga && a.requiresGrad ? sumTo(ga, a.shape) : null;
    const rb = gb && b.requiresGrad ? sumTo(gb, b.shape) : null;
    ga?.dispose();
    gb?.dispose();
    return [ra, rb];
  });
  // The 0-d tensor made for a number argument never requires grad; free it unless saved.
  if (A.temp) A.t.dispose();
  if (B.temp) B.t.dispose();
  return out;
}

export const add = (a: Operand, b: Operand): Tensor => binary('add', 'add', a, b, (g) => [rawUnary(g, 'neg', -1), rawUnary(g, 'neg', -1)]);
export const sub = (a: Operand, b: Operand): Tensor => binary('sub', 'sub', a, b, (g) => [rawUnary(g, 'neg', -1), rawUnary(g, 'neg')]);
export const mul = (a: Operand, b: Operand): Tensor => binary('mul', 'mul', a, b, (g, a, b) => [rawBinary(g, b, 'mul', 'mul'), rawBinary(g, a, 'mul', 'mul')]);
export const div = (a: Operand, b: Operand): Tensor =>
  binary('div', 'div', a, b, (g, a, b) => {
    const ga = rawBinary(g, b, 'div', 'div');
    // d(a/b)/db = -a/b^2 = -(g/b) * (a/b)
    const q = rawBinary(a, b, 'div', 'div');
    const t = rawBinary(ga, q, 'mul', 'div');
    const gb = rawUnary(t, 'neg');
    q.dispose();
    t.dispose();
    return [ga, gb];
  });
/** Elementwise max; at ties the gradient goes to a. */
export const maximum = (a: Operand, b: Operand): Tensor =>
  binary('maximum', 'max', a, b, (g, a, b) => {
    // max(a,b) = b + relu(a - b): a gets g where a >= b... relu' is 1 where a - b > 0.
    const d = rawBinary(a, b, 'sub', 'maximum');
    const ga = empty(g.device, g.shape);
    native.unaryBackward(ga.h, g.h, d.h, null, UnaryOp.relu);
    const gb = rawBinary(g, ga, 'sub', 'maximum');
    d.dispose();
    return [ga, gb];
  });
export const minimum = (a: Operand, b: Operand): Tensor =>
  binary('minimum', 'min', a, b, (g, a, b) => {
    // min(a,b) = a - relu(a - b)
    const d = rawBinary(a, b, 'sub', 'minimum');
    const gb = empty(g.device, g.shape);
    native.unaryBackward(gb.h, g.h, d.h, null, UnaryOp.relu);
    const ga = rawBinary(g, gb, 'sub', 'minimum');
    d.dispose();
    return [ga, gb];
  });
/** a ** b for a > 0 (the gradient with respect to b uses log a). */
export const pow = (a: Operand, b: Operand): Tensor =>
  binary('pow', 'pow', a, b, (g, a, b, out) => {
    // d/da = b * a^(b-1) = b * out / a;  d/db = out * log(a)
    const t1 = rawBinary(out, a, 'div', 'pow');
    const t2 = rawBinary(t1, b, 'mul', 'pow');
    const ga = rawBinary(g, t2, 'mul', 'pow');
    const la = rawUnary(a, 'log');
    const t3 = rawBinary(out, la, 'mul', 'pow');
    const gb = rawBinary(g, t3, 'mul', 'pow');
    [t1, t2, la, t3].forEach((t) => t.dispose());
    return [ga, gb];
  }, true);

function unary(name: UnaryOpName, x: Tensor, saveOut: boolean): Tensor {
  assertFloat(x, name, 'x');
  const out = rawUnary(x, name);
  record(name, [x], [out], saveOut ? [out] : [x], ([g]) => {
    const dx = empty(x.device, x.shape);
    native.unaryBackward(dx.h, g!.h, saveOut ? null : x.h, saveOut ? out.h : null, UnaryOp[name]);
    return [dx];
  });
  return out;
}

export const neg = (x: Tensor): Tensor => unary('neg', x, false);
export const exp = (x: Tensor): Tensor => unary('exp', x, true);
export const log = (x: Tensor): Tensor => unary('log', x, false);
export const tanh = (x: Tensor): Tensor => unary('tanh', x, true);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x, true);
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x, true);
export const relu = (x: Tensor): Tensor => unary('relu', x, false);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x, true);
export const abs = (x: Tensor): Tensor => unary('abs', x, false);
export const square = (x: Tensor): Tensor => unary('square', x, false);
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x, true);

/** alpha * x + beta in one pass. */
export function affine(x: Tensor, alpha: number, beta = 0): Tensor {
  assertFloat(x, 'affine', 'x');
  assertFinite(alpha, 'affine', 'alpha');
  assertFinite(beta, 'affine', 'beta');
  const out = rawUnary(x, 'neg', -alpha, beta);
  record('affine', [x], [out], [], ([g]) => [rawUnary(g!, 'neg', -alpha)]);
  return out;
}
export const scale = (x: Tensor, alpha: number): Tensor => affine(x, alpha, 0);

/** dst += src in place (same shape), outside autograd: gradient accumulation. */
export function addInto(dst: Tensor, src: Tensor): Tensor {
  assertFloat(dst, 'addInto', 'dst');
  assertFloat(src, 'addInto', 'src');
  native.binary(dst.h, dst.h, src.h, [dst.size], [1], [1], BinaryOp.add);
  return dst;
}
