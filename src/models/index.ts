/** The models and their configs. */
export * from './config.js';
export { GPT, Block, type GPTForwardOpts } from './gpt.js';
export { Bert, BertBlock, MLMHead, type BertForwardOpts } from './bert.js';
export { T5, T5Encoder, T5Decoder, T5EncoderBlock, T5DecoderBlock, T5DecoderCache, relativePositionBucket, type T5EncodeOpts, type T5DecodeOpts } from './t5.js';
