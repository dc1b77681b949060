/**
 * GPT-2's byte <-> unicode map and a UTF-8 encoder that writes into a reusable buffer.
 *
 * Byte-level BPE works on bytes, but vocab files store tokens as strings. GPT-2 maps each
 * byte to a printable character (printable Latin-1 bytes map to themselves, the other 68 to
 * U+0100.. in byte order) so that a token's string is readable and has no spaces; ' ' is 'Ġ'.
 */

function buildByteToChar(): string[] {
  const keep = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out = new Array<string>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(keep(b) ? b : next++);
  return out;
}

/** byte -> its one-character byte-level symbol. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** UTF-16 code unit of a byte-level symbol -> byte, or -1 for characters outside the alphabet. */
export const CHAR_TO_BYTE: Int16Array = (() => {
  const t = new Int16Array(512).fill(-1);
  BYTE_TO_CHAR.forEach((c, b) => { t[c.charCodeAt(0)] = b; });
  return t;
})();

/** The byte-level string of some bytes (what vocab files store). */
export function bytesToSymbols(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}

/** The bytes of a byte-level string, or null when a character is not a byte-level symbol. */
export function symbolsToBytes(s: string): Uint8Array | null {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const b = c < 512 ? CHAR_TO_BYTE[c] : -1;
    if (b < 0) return null;
    out[i] = b;
  }
  return out;
}

/**
 * UTF-8 of `s` into `buf` (grown as needed); returns [buffer, length]. Lone surrogates become
 * U+FFFD exactly as TextEncoder does. Avoids TextEncoder's per-call allocation on short words.
 */
export function utf8Into(s: string, buf: Uint8Array): [Uint8Array, number] {
  if (buf.length < s.length * 3) buf = new Uint8Array(s.length * 3 + 16);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) { buf[n++] = c; continue; }
    if (c < 0x800) { buf[n++] = 0xc0 | (c >> 6); buf[n++] = 0x80 | (c & 63); continue; }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        buf[n++] = 0xf0 | (c >> 18); buf[n++] = 0x80 | ((c >> 12) & 63);
        buf[n++] = 0x80 | ((c >> 6) & 63); buf[n++] = 0x80 | (c & 63);
        continue;
      }
      c = 0xfffd;
    }
    buf[n++] = 0xe0 | (c >> 12); buf[n++] = 0x80 | ((c >> 6) & 63); buf[n++] = 0x80 | (c & 63);
  }
  return [buf, n];
}
