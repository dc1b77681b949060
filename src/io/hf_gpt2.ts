/**
 * Import of a Hugging Face GPT-2 (config.json + model.safetensors, as saved by
 * transformers' GPT2Model / GPT2LMHeadModel) into an lmtrain checkpoint.
 *
 * HF GPT-2 uses Conv1D layers whose weight is stored (in, out) and applied as y = x @ W + b;
 * lmtrain's Linear stores (out, in) and applies y = x @ W^T + b (src/models/config.ts), so
 * every Conv1D weight is transposed. The fused c_attn output is [q | k | v], each C wide with
 * heads contiguous, which is the order of lmtrain's attn.qkv.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../errors.js';
import type { GPTConfig } from '../models/config.js';
import { saveCheckpoint } from './checkpoint.js';
import { readSafetensors, setOwn, type SafetensorsEntry, type StoredTensor } from './safetensors.js';

/** Activations that are GELU's tanh form, which lmtrain's gelu computes. */
const TANH_GELUS = new Set(['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast']);

/** lmtrain GPTConfig from an HF GPT-2 config.json, refusing variants lmtrain does not compute. */
export function gpt2ConfigFromHF(hf: Record<string, unknown>, file: string): GPTConfig {
  const int = (key: string, ...alts: string[]): number => {
    for (const k of [key, ...alts]) {
      const v = hf[k];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new DataError(`${k} must be a positive integer, got ${JSON.stringify(v)}`, file);
      return v;
    }
    throw new DataError(`missing ${[key, ...alts].join(' or ')}`, file);
  };
  if (hf.model_type !== undefined && hf.model_type !== 'gpt2')
    throw new DataError(`model_type is ${JSON.stringify(hf.model_type)}, expected "gpt2"`, file);
  const n_embd = int('n_embd'), n_head = int('n_head');
  if (n_embd % n_head !== 0) throw new DataError(`n_embd ${n_embd} is not divisible by n_head ${n_head}`, file);
  const eps = hf.layer_norm_epsilon ?? 1e-5;
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) throw new DataError(`layer_norm_epsilon must be a positive number, got ${JSON.stringify(eps)}`, file);
  const act = hf.activation_function ?? 'gelu_new';
  if (typeof act !== 'string' || !TANH_GELUS.has(act))
    throw new DataError(`activation_function ${JSON.stringify(act)} is not supported (lmtrain computes GELU's tanh form: ${[...TANH_GELUS].join(', ')})`, file);
  if (hf.n_inner !== undefined && hf.n_inner !== null && hf.n_inner !== 4 * n_embd)
    throw new DataError(`n_inner ${JSON.stringify(hf.n_inner)} is not supported (lmtrain's MLP is 4 * n_embd = ${4 * n_embd})`, file);
  if (hf.scale_attn_weights === false) throw new DataError('scale_attn_weights=false is not supported', file);
  if (hf.scale_attn_by_inverse_layer_idx === true) throw new DataError('scale_attn_by_inverse_layer_idx=true is not supported', file);
  if (hf.add_cross_attention === true) throw new DataError('add_cross_attention=true is not supported', file);
  return {
    model_type: 'gpt',
    vocab_size: int('vocab_size'),
    n_positions: int('n_positions', 'n_ctx'),
    n_layer: int('n_layer'),
    n_head,
    n_embd,
    // HF's three dropout rates don't map onto lmtrain's one; imports start deterministic, as the presets do.
    dropout: 0,
    layer_norm_epsilon: eps,
  };
}

/** (rows, cols) -> (cols, rows) */
function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return out;
}

/**
 * lmtrain GPT weights from HF GPT-2 tensors (with or without the `transformer.` prefix).
 * Throws a DataError naming the key and its expected shape for anything missing or misshaped.
 */
export function gpt2WeightsFromHF(tensors: Map<string, SafetensorsEntry>, cfg: GPTConfig, file: string): Record<string, StoredTensor> {
  const C = cfg.n_embd, V = cfg.vocab_size, P = cfg.n_positions;
  const hasPrefix = [...tensors.keys()].some((k) => k.startsWith('transformer.'));
  const prefix = hasPrefix ? 'transformer.' : '';
  const used = new Set<string>();
  const get = (name: string, shape: number[]): Float32Array => {
    const key = prefix + name;
    const t = tensors.get(key);
    if (!t) throw new DataError(`missing tensor '${key}' (expected shape [${shape.join(',')}])`, file);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
      throw new DataError(`tensor '${key}' has shape [${t.shape.join(',')}], expected [${shape.join(',')}]`, file);
    if (!(t.data instanceof Float32Array)) throw new DataError(`tensor '${key}' has integer dtype ${t.dtype}, expected a float dtype`, file);
    used.add(key);
    return t.data;
  };
  const out: Record<string, StoredTensor> = {};
  const put = (name: string, shape: number[], data: Float32Array): void => setOwn(out, name, { shape, data });
  const copy = (from: string, to: string, shape: number[]): void => put(to, shape, get(from, shape));
  // Conv1D (in, out) -> Linear (out, in)
  const conv = (from: string, to: string, nIn: number, nOut: number): void => put(to, [nOut, nIn], transpose(get(from, [nIn, nOut]), nIn, nOut));

  copy('wte.weight', 'wte.weight', [V, C]);
  copy('wpe.weight', 'wpe.weight', [P, C]);
  for (let i = 0; i < cfg.n_layer; i++) {
    const h = `h.${i}.`, b = `blocks.${i}.`;
    copy(h + 'ln_1.weight', b + 'ln1.weight', [C]);
    copy(h + 'ln_1.bias', b + 'ln1.bias', [C]);
    conv(h + 'attn.c_attn.weight', b + 'attn.qkv.weight', C, 3 * C);
    copy(h + 'attn.c_attn.bias', b + 'attn.qkv.bias', [3 * C]);
    conv(h + 'attn.c_proj.weight', b + 'attn.proj.weight', C, C);
    copy(h + 'attn.c_proj.bias', b + 'attn.proj.bias', [C]);
    copy(h + 'ln_2.weight', b + 'ln2.weight', [C]);
    copy(h + 'ln_2.bias', b + 'ln2.bias', [C]);
    conv(h + 'mlp.c_fc.weight', b + 'mlp.fc.weight', C, 4 * C);
    copy(h + 'mlp.c_fc.bias', b + 'mlp.fc.bias', [4 * C]);
    conv(h + 'mlp.c_proj.weight', b + 'mlp.proj.weight', 4 * C, C);
    copy(h + 'mlp.c_proj.bias', b + 'mlp.proj.bias', [C]);
  }
  copy('ln_f.weight', 'ln_f.weight', [C]);
  copy('ln_f.bias', 'ln_f.bias', [C]);

  // lmtrain ties the LM head to wte, so a separate head is accepted only if it is the same matrix.
  const head = tensors.get('lm_head.weight');
  if (head) {
    const wte = out['wte.weight'].data;
    if (head.shape.length !== 2 || head.shape[0] !== V || head.shape[1] !== C || head.data.some((x, j) => !Object.is(x, wte[j])))
      throw new DataError("tensor 'lm_head.weight' differs from wte.weight; lmtrain's GPT ties the LM head to the token embedding", file);
    used.add('lm_head.weight');
  }
  // attn.bias (causal mask) and attn.masked_bias are buffers, not parameters.
  const unexpected = [...tensors.keys()].filter((k) => !used.has(k) && !/(^|\.)h\.\d+\.attn\.(bias|masked_bias)$/.test(k));
  if (unexpected.length > 0)
    throw new DataError(`unexpected tensors not part of a GPT-2 with n_layer=${cfg.n_layer}: ${unexpected.slice(0, 5).map((k) => `'${k}'`).join(', ')}${unexpected.length > 5 ? ` and ${unexpected.length - 5} more` : ''}`, file);
  return out;
}

export interface ImportResult {
  config: GPTConfig;
  /** Number of parameters written. */
  numParams: number;
  tokenizer: boolean;
}

/** Reads an HF GPT-2 directory and writes an lmtrain checkpoint to outDir. */
export function importGPT2(fromDir: string, outDir: string): ImportResult {
  const from = path.resolve(fromDir);
  if (!fs.existsSync(from) || !fs.statSync(from).isDirectory()) throw new DataError('Hugging Face model directory does not exist', from);
  const cfgFile = path.join(from, 'config.json');
  let hf: unknown;
  try {
    hf = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
  } catch (e) {
    throw new DataError((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing config.json' : `cannot read: ${(e as Error).message.slice(0, 200)}`, cfgFile);
  }
  if (typeof hf !== 'object' || hf === null || Array.isArray(hf)) throw new DataError('must hold a JSON object', cfgFile);
  const config = gpt2ConfigFromHF(hf as Record<string, unknown>, cfgFile);

  const stFile = path.join(from, 'model.safetensors');
  if (!fs.existsSync(stFile)) {
    const why = fs.existsSync(path.join(from, 'model.safetensors.index.json'))
      ? 'sharded checkpoints (model.safetensors.index.json) are not supported; GPT-2 fits one file'
      : fs.existsSync(path.join(from, 'pytorch_model.bin'))
        ? 'only pytorch_model.bin is present; lmtrain reads safetensors only (convert with transformers: save_pretrained(safe_serialization=True))'
        : 'missing model.safetensors';
    throw new DataError(why, stFile);
  }
  const weights = gpt2WeightsFromHF(readSafetensors(stFile).tensors, config, stFile);

  let tokenizerJson: string | undefined;
  const tokFile = path.join(from, 'tokenizer.json');
  if (fs.existsSync(tokFile)) {
    tokenizerJson = fs.readFileSync(tokFile, 'utf8');
    try {
      JSON.parse(tokenizerJson);
    } catch (e) {
      throw new DataError(`not valid JSON: ${(e as Error).message.slice(0, 200)}`, tokFile);
    }
  }
  saveCheckpoint(outDir, { config, weights, tokenizerJson, metadata: { format: 'lmtrain', source: 'hf-gpt2' } });
  let numParams = 0;
  for (const t of Object.values(weights)) numParams += t.data.length;
  return { config, numParams, tokenizer: tokenizerJson !== undefined };
}
