export { logSigmoid, softplus, stableSigmoid, maskedMean } from './common.js';
export { DPO_LOSSES, dpoLoss, type DpoLossName, type DpoOpts, type PreferenceLogps } from './dpo.js';
export { ktoLoss, type KtoOpts } from './kto.js';
export { gae, whiten, KL_ESTIMATORS, groupAdvantages, ppoPolicyLoss, ppoValueLoss } from './rl.js';
