/**
 * Typed errors. Every error lmtrain throws on purpose is an LmtError subclass whose message
 * names the argument and the expectation. The native binding throws these same classes
 * (they are handed to it at load time), so `instanceof` works for errors from either side.
 */
export class LmtError extends Error {
  code: string;
  constructor(message: string, code = 'LMT_ERROR') {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}
/** A bad argument value or type (not a tensor shape): wrong type, negative size, NaN. */
export class ArgumentError extends LmtError {
  constructor(message: string) { super(message, 'LMT_ERR_INVALID_ARG'); }
}
/** Shapes that do not fit: mismatched dims, buffers shorter than their shape. */
export class ShapeError extends LmtError {
  constructor(message: string) { super(message, 'LMT_ERR_SHAPE'); }
}
export class DTypeError extends LmtError {
  constructor(message: string) { super(message, 'LMT_ERR_DTYPE'); }
}
export class DeviceError extends LmtError {
  constructor(message: string) { super(message, 'LMT_ERR_DEVICE'); }
}
export class DisposedTensorError extends LmtError {
  constructor(message: string) { super(message, 'LMT_ERR_DISPOSED'); }
}
/** An index (token id, gather index, label) out of range. */
export class IndexError extends LmtError {
  constructor(message: string) { super(message, 'LMT_ERR_INDEX'); }
}
export class OutOfMemoryError extends LmtError {
  constructor(message: string) { super(message, 'LMT_ERR_OOM'); }
}
/** An unexpected failure inside native code (a bug: please report it). */
export class NativeError extends LmtError {
  constructor(message: string) { super(message, 'LMT_ERR_INTERNAL'); }
}
/** Bad file contents; names the file and, for line formats, the 1-based line. */
export class DataError extends LmtError {
  file?: string;
  line?: number;
  constructor(message: string, file?: string, line?: number) {
    super(file ? `${file}${line !== undefined ? `:${line}` : ''}: ${message}` : message, 'LMT_ERR_DATA');
    this.file = file;
    this.line = line;
  }
}
/** The asynchronous misuse of a synchronous scope (a Promise returned into tidy). */
export class ScopeError extends LmtError {
  constructor(message: string) { super(message, 'LMT_ERR_SCOPE'); }
}

export const nativeErrorClasses = {
  ArgumentError, ShapeError, DTypeError, DeviceError, DisposedTensorError, IndexError,
  OutOfMemoryError, NativeError,
};
