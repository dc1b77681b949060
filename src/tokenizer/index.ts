/** Byte-level BPE tokenizer: training, encode/decode, special tokens, tokenizer.json. */
export { Tokenizer, type EncodeOptions, type DecodeOptions } from './tokenizer.js';
export { GPT2_PATTERN, preTokenize } from './pretokenize.js';
export { trainBPE, trainBPEFromCounts, WordCounter, type TrainBPEOptions } from './train.js';
export { type AddedToken, type TokenizerSpec, MAX_VOCAB } from './json.js';
export { BYTE_TO_CHAR, bytesToSymbols, symbolsToBytes } from './bytes.js';
export {
  PAD, MASK, CLS, SEP, UNK, EOS, IM_START, IM_END, sentinelToken, defaultSpecialTokens,
} from './special.js';
