// The preference and RL losses against values computed by hand.
import { describe, expect, it } from 'vitest';
import { tensor, tidy, backward, sum, ArgumentError } from '../../src/index.js';
import { softplus, logSigmoid } from '../../src/train/losses/common.js';
import { dpoLoss } from '../../src/train/losses/dpo.js';
import { ktoLoss } from '../../src/train/losses/kto.js';
import { gae, whiten, KL_ESTIMATORS, groupAdvantages, ppoPolicyLoss, ppoValueLoss } from '../../src/train/losses/rl.js';

const t = (xs: number[]) => tensor(Float32Array.from(xs), [xs.length]);
const close = (got: ArrayLike<number>, want: number[], tol = 1e-5) => want.forEach((w, i) => expect(Math.abs(got[i] - w)).toBeLessThan(tol));

describe('stable building blocks', () => {
  it('softplus and log-sigmoid at the extremes', () => tidy(() => {
    close(softplus(t([-100, -1, 0, 1, 100])).toArray(), [0, 0.3132617, 0.6931472, 1.3132617, 100]);
    close(logSigmoid(t([-100, 0, 100])).toArray(), [-100, -0.6931472, 0]);
  }));
});

describe('DPO family', () => {
  const l = () => ({ policyChosen: t([-5]), policyRejected: t([-7]), refChosen: t([-6]), refRejected: t([-6]) });
  it('sigmoid, ipo, hinge (margin h = 2, beta 0.1)', () => tidy(() => {
    const s = dpoLoss('sigmoid', l(), { beta: 0.1 });
    close([s.loss.item()], [Math.log(1 + Math.exp(-0.2))]);
    close(s.chosenRewards, [0.1]);
    close(s.rejectedRewards, [-0.1]);
    close([dpoLoss('ipo', l(), { beta: 0.1 }).loss.item()], [9]);
    close([dpoLoss('hinge', l(), { beta: 0.1 }).loss.item()], [0.8]);
  }));
  it('simpo is reference-free and length-normalised', () => tidy(() => {
    const r = dpoLoss('simpo', { policyChosen: t([-6]), policyRejected: t([-8]), chosenLengths: t([3]), rejectedLengths: t([2]) }, { beta: 2, gamma: 0.5 });
    close([r.loss.item()], [Math.log(1 + Math.exp(-3.5))]);
    expect(() => dpoLoss('sigmoid', { policyChosen: t([-1]), policyRejected: t([-1]) }, { beta: 0.1 })).toThrow(ArgumentError);
  }));
  it('sftWeight adds the chosen answers\' per-token NLL (RPO)', () => tidy(() => {
    // pc = [-5, -9] over 2 and 3 tokens: NLL per token = mean(2.5, 3) = 2.75; sigmoid part as above (h = 2 and 0).
    const x = { policyChosen: t([-5, -9]), policyRejected: t([-7, -9]), refChosen: t([-6, -9]), refRejected: t([-6, -9]), chosenLengths: t([2, 3]) };
    const base = (Math.log(1 + Math.exp(-0.2)) + Math.log(2)) / 2;
    close([dpoLoss('sigmoid', x, { beta: 0.1, sftWeight: 0.5 }).loss.item()], [base + 0.5 * 2.75]);
    close([dpoLoss('sigmoid', x, { beta: 0.1, sftWeight: 0 }).loss.item()], [base]);
    x.policyChosen.requiresGrad = true;
    backward(dpoLoss('sigmoid', x, { beta: 0.1, sftWeight: 1 }).loss);
    // d/dpc_0 = (-0.1 sigmoid(-0.2)) / 2 - 1 / (2 * 2)
    close(x.policyChosen.grad!.toArray().slice(0, 1), [(-0.1 / (1 + Math.exp(0.2))) / 2 - 0.25]);
    expect(() => dpoLoss('sigmoid', l(), { beta: 0.1, sftWeight: 1 })).toThrow(/needs chosenLengths/);
    expect(() => dpoLoss('sigmoid', x, { beta: 0.1, sftWeight: -1 })).toThrow(ArgumentError);
  }));
  it('the gradient raises the chosen and lowers the rejected log-prob', () => tidy(() => {
    const x = l();
    x.policyChosen.requiresGrad = true;
    x.policyRejected.requiresGrad = true;
    backward(dpoLoss('sigmoid', x, { beta: 0.1 }).loss);
    // d/dpc = -beta * sigmoid(-beta h) = -0.1 * sigmoid(-0.2)
    close(x.policyChosen.grad!.toArray(), [-0.1 / (1 + Math.exp(0.2))]);
    close(x.policyRejected.grad!.toArray(), [0.1 / (1 + Math.exp(0.2))]);
    x.policyChosen.grad!.dispose();
    x.policyRejected.grad!.dispose();
  }));
});

describe('KTO', () => {
  it('desirable and undesirable terms', () => tidy(() => {
    const sig = (z: number) => 1 / (1 + Math.exp(-z));
    const want = ((1 - sig(0.3)) + (1 - sig(0.7))) / 2;
    close([ktoLoss(t([-1, -2]), t([-1.5, -1.5]), [1, 0], 0.2, { beta: 1 }).item()], [want]);
  }));
});

describe('RL maths', () => {
  it('GAE with gamma 1, lambda 0.95', () => {
    const { advantages, returns } = gae([0, 0, 1], [0.5, 0.6, 0.7], [1, 1, 1], 1, 0.95);
    close(advantages, [0.46575, 0.385, 0.3]);
    close(returns, [0.96575, 0.985, 1.0]);
    const masked = gae([0, 1, 5], [0.5, 0.5, 9], [1, 1, 0], 1, 1);
    close(masked.advantages, [0.5, 0.5, 0]);
  });
  it('whitening, KL estimators, group advantages', () => {
    close(whiten([1, 2, 3, 4]), [-1.3416408, -0.4472136, 0.4472136, 1.3416408]);
    close(whiten([1, 100, 3], [1, 0, 1]), [-1, 0, 1]);
    close([KL_ESTIMATORS.k1(-1, -2), KL_ESTIMATORS.k2(-1, -2), KL_ESTIMATORS.k3(-1, -2)], [1, 0.5, 0.3678794]);
    close(groupAdvantages([1, 0, 1, 0], 2), [0.7071068, -0.7071068, 0.7071068, -0.7071068]);
    expect(() => groupAdvantages([1, 2, 3], 2)).toThrow(ArgumentError);
  });
  it('PPO clipped surrogate and clipped value loss', () => tidy(() => {
    const p = ppoPolicyLoss(t([0, Math.log(1.5), Math.log(0.5)]), t([0, 0, 0]), t([1, 1, -1]), t([1, 1, 1]), 0.2);
    close([p.loss.item()], [-1.4 / 3]);
    expect(p.clipFraction).toBeCloseTo(2 / 3);
    close([ppoValueLoss(t([1, 0]), t([0.5, 0.5]), t([0.6, 0.6]), t([1, 1]), 0.2).item()], [0.13]);
  }));
});

describe('gradients at the starting point', () => {
  it('log-sigmoid has gradient 1/2 at exactly 0 (DPO starts there)', () => tidy(() => {
    const x = t([0, 0]);
    x.requiresGrad = true;
    backward(sum(logSigmoid(x)));
    close(x.grad!.toArray(), [0.5, 0.5]);
    x.grad!.dispose();
  }));
});
