/**
 * The GPT-2 pre-tokenizer: splits text into the pieces that BPE then works on, exactly as
 * the regex `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` does.
 *
 * The regex is most of the cost of encoding, so ASCII is split by hand; wherever a decision
 * needs a non-ASCII character, the regex decides from that position. Mixing is exact because
 * the pattern has no lookbehind (a match depends only on the text from its start) and its
 * matches tile the text (every character is matched by some branch).
 */

export const GPT2_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

const LETTER = 1, DIGIT = 2, SPACE = 3, OTHER = 4;
const CLASS = (() => {
  const t = new Uint8Array(128).fill(OTHER);
  for (let c = 65; c <= 90; c++) t[c] = t[c + 32] = LETTER;
  for (let c = 48; c <= 57; c++) t[c] = DIGIT;
  for (const c of [9, 10, 11, 12, 13, 32]) t[c] = SPACE;
  return t;
})();

/** A splitter owns a sticky copy of the regex (its lastIndex is state), so one per user. */
export class Gpt2Splitter {
  private readonly re = new RegExp(GPT2_PATTERN, 'uy');

  /** End of the piece that starts at `pos` (< text.length). */
  pieceEnd(text: string, pos: number): number {
    const n = text.length;
    const c = text.charCodeAt(pos);
    if (c >= 128) return this.slow(text, pos);
    let k = CLASS[c], i = pos;
    if (c === 39 && pos + 1 < n) { // 's 't 'm 'd 're 've 'll
      const d = text.charCodeAt(pos + 1);
      if (d === 115 || d === 116 || d === 109 || d === 100) return pos + 2;
      if (pos + 2 < n) {
        const e = text.charCodeAt(pos + 2);
        if ((e === 101 && (d === 114 || d === 118)) || (d === 108 && e === 108)) return pos + 3;
      }
    }
    if (c === 32 && pos + 1 < n) { // ' ?X+': a space joins the run that follows it
      const d = text.charCodeAt(pos + 1);
      if (d >= 128) return this.slow(text, pos);
      if (CLASS[d] !== SPACE) { k = CLASS[d]; i = pos + 1; }
    }
    let j = i + 1;
    for (; j < n; j++) {
      const d = text.charCodeAt(j);
      if (d >= 128) return this.slow(text, pos);
      if (CLASS[d] !== k) break;
    }
    if (k !== SPACE || j === n) return j;
    // `\s+(?!\S)` leaves the last whitespace character to the word that follows, then `\s+`
    // takes a lone one.
    return j - pos >= 2 ? j - 1 : j;
  }

  private slow(text: string, pos: number): number {
    this.re.lastIndex = pos;
    // The pattern matches at every position, so test() cannot fail here.
    return this.re.test(text) ? this.re.lastIndex : text.length;
  }

  split(text: string): string[] {
    const out: string[] = [];
    for (let pos = 0, end = 0; pos < text.length; pos = end) {
      end = this.pieceEnd(text, pos);
      out.push(text.slice(pos, end));
    }
    return out;
  }
}

/** The GPT-2 pre-tokenization of `text` (what BPE merges never cross). */
export function preTokenize(text: string): string[] {
  return new Gpt2Splitter().split(text);
}
