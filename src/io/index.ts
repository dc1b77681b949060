/** Files in and out: safetensors, checkpoint directories, Hugging Face GPT-2 import. */
export {
  readSafetensors, writeSafetensors, encodeSafetensors, tensorsFromSafetensors, safetensorsFromTensors,
  writeFileAtomic, MAX_HEADER_BYTES,
  type SafetensorsDType, type SafetensorsEntry, type SafetensorsFile, type StoredTensor,
} from './safetensors.js';
export {
  saveCheckpoint, loadCheckpoint, findCheckpoint, acquireOutputLock, CHECKPOINT_FILES,
  type Checkpoint, type CheckpointInput, type OutputLock,
} from './checkpoint.js';
export { importGPT2, gpt2ConfigFromHF, gpt2WeightsFromHF, type ImportResult } from './hf_gpt2.js';
