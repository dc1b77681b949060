/** Data pipeline: readers, token caches, splits and samplers, collators, seeded RNG. */
export { Rng, type DataRngState } from './rng.js';
export {
  readLines, readJsonl, readJsonlRecords, expectObject, expectString, optionalString,
  listSourceFiles, readDocuments, readFileDocuments, readTextDocuments, readJsonlDocuments, DEFAULT_EXTENSIONS,
  type Line, type RecordValidator, type JsonlRecord, type TextDocument, type DocumentProgress, type ReadOptions,
} from './readers.js';
export {
  TokenCache, ArrayTokenSource, buildTokenCache, tokenCacheKey, readTokenCacheHeader, isTokenCacheFresh,
  TOKEN_CACHE_MAGIC, TOKEN_CACHE_VERSION,
  type TextTokenizer, type TokenSource, type TokenCacheHeader, type BuildTokenCacheOptions,
  type BuildTokenCacheResult, type OpenTokenCacheOptions,
} from './token_cache.js';
export {
  splitTokenRanges, isValidationDocument, BatchSampler, sequentialBatches, batchRows,
  type TokenRange, type SplitOptions, type Split, type TokenBatch, type SamplerCursor,
  type BatchSamplerOptions, type SequentialBatchOptions,
} from './loader.js';
export {
  IGNORE_INDEX, collateClm, padSequences, collateMlm, randomSpansNoiseMask, spanCorruptionLengths,
  spanCorrupt, collateSpanCorruption, reconstructSpans,
  type ClmBatch, type PadOptions, type PaddedBatch, type MlmOptions, type MlmBatch,
  type SpanCorruptionOptions, type SpanCorruptedRow, type SpanCorruptionBatch, type ReconstructOptions,
} from './collators.js';
