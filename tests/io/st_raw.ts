/** Hand-built safetensors bytes (any dtype, any header, any length field) for reader tests. */
export function rawSafetensors(header: object | string, data: Uint8Array = new Uint8Array(0), headerLen?: bigint): Buffer {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  return rawWithHeaderBytes(json, data, headerLen);
}
export function rawWithHeaderBytes(json: Uint8Array, data: Uint8Array = new Uint8Array(0), headerLen?: bigint): Buffer {
  const out = Buffer.alloc(8 + json.length + data.length);
  out.writeBigUInt64LE(headerLen ?? BigInt(json.length), 0);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}
export const u16le = (...xs: number[]): Uint8Array => new Uint8Array(Uint16Array.from(xs).buffer);
export const f32le = (...xs: number[]): Uint8Array => new Uint8Array(Float32Array.from(xs).buffer);
export const i64le = (...xs: bigint[]): Uint8Array => new Uint8Array(BigInt64Array.from(xs).buffer);
