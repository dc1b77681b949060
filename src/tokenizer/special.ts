/** Special-token names shared by the models, collators and the CLI. */

export const PAD = '[PAD]';
export const MASK = '[MASK]';
export const CLS = '[CLS]';
export const SEP = '[SEP]';
export const UNK = '[UNK]';
export const EOS = '<|endoftext|>';
export const IM_START = '<|im_start|>';
export const IM_END = '<|im_end|>';

/** T5's span-corruption sentinel i: `<extra_id_i>`. */
export function sentinelToken(i: number): string {
  return `<extra_id_${i}>`;
}

/**
 * The set every lmtrain tokenizer gets unless told otherwise: enough for GPT (eos), BERT
 * (pad, mask, cls, sep), T5 (pad, eos, sentinels) and chat SFT (im_start, im_end). [PAD]
 * comes first so that it is id 0.
 */
export function defaultSpecialTokens(sentinels = 32): string[] {
  const out = [PAD, EOS, MASK, CLS, SEP, IM_START, IM_END];
  for (let i = 0; i < sentinels; i++) out.push(sentinelToken(i));
  return out;
}

/** Aliases other tokenizers use for the same roles, tried after lmtrain's own names. */
export const ROLE_TOKENS = {
  pad: [PAD, '<pad>', '<|pad|>'],
  mask: [MASK, '<mask>'],
  cls: [CLS, '<s>', '<cls>'],
  sep: [SEP, '</s>', '<sep>'],
  eos: [EOS, '</s>', '<eos>'],
} as const;
