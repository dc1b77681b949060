import { describe, expect, it } from 'vitest';
import { ArgumentError, IndexError, ShapeError } from '../../src/errors.js';
import {
  IGNORE_INDEX, Rng, collateClm, collateMlm, collateSpanCorruption, padSequences, randomSpansNoiseMask,
  reconstructSpans, spanCorrupt, spanCorruptionLengths,
} from '../../src/data/index.js';
import { testRng } from './helpers.js';

function randomRow(rng: Rng, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => lo + rng.int(hi - lo));
}

describe('collateClm', () => {
  it('inputs are window[:-1] and targets window[1:], row by row', () => {
    const rng = testRng();
    const B = 3, L = 9;
    const data = Int32Array.from(randomRow(rng, B * L, 0, 1000));
    const { inputs, targets, batchSize, seqLen } = collateClm({ data, batchSize: B, windowLength: L });
    expect([batchSize, seqLen, inputs.length, targets.length]).toEqual([3, 8, 24, 24]);
    for (let b = 0; b < B; b++) for (let t = 0; t < L - 1; t++) {
      expect(inputs[b * 8 + t]).toBe(data[b * L + t]);
      expect(targets[b * 8 + t]).toBe(data[b * L + t + 1]);
      if (t < L - 2) expect(targets[b * 8 + t]).toBe(inputs[b * 8 + t + 1]);
    }
    expect(() => collateClm({ data: new Int32Array(5), batchSize: 2, windowLength: 3 })).toThrow(ShapeError);
  });
});

describe('padSequences', () => {
  it('right-pads to the longest row or a given length, with a 1/0 attention mask', () => {
    const p = padSequences([[5, 6, 7], [8], []], { padId: 0 });
    expect([...p.ids]).toEqual([5, 6, 7, 8, 0, 0, 0, 0, 0]);
    expect([...p.attentionMask]).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 0]);
    expect([...p.lengths]).toEqual([3, 1, 0]);
    expect(p.attentionMask).toBeInstanceOf(Float32Array);
    const q = padSequences([[1, 2]], { padId: 9, length: 4 });
    expect([...q.ids]).toEqual([1, 2, 9, 9]);
    expect(() => padSequences([[1, 2, 3]], { padId: 0, length: 2 })).toThrow('row 0 needs 3 positions but length is 2');
  });
});

describe('collateMlm', () => {
  const CLS = 0, SEP = 1, PAD = 2, MASK = 3, V = 1000;
  const opts = { maskId: MASK, padId: PAD, vocabSize: V, specialIds: [CLS, SEP, PAD, MASK] };
  const specials = new Set(opts.specialIds);

  it('selects 15% of non-special positions; 80% [MASK], 10% random, 10% unchanged; never a special', () => {
    const rng = testRng();
    let candidates = 0, selected = 0, masked = 0, random = 0, unchanged = 0;
    // Per-position checks are tallied, not expect()ed: a hundred thousand expects take seconds.
    const bad = { padding: 0, special: 0, unselected: 0, label: 0, randomSpecial: 0, emptyRow: 0 };
    for (let batch = 0; batch < 80; batch++) {
      // Rows of varied length with specials inside, padded to 130.
      const rows = Array.from({ length: 25 }, () => {
        const body = randomRow(rng, 20 + rng.int(100), 4, V);
        for (let k = 0; k < 3; k++) body[rng.int(body.length)] = SEP;
        return [CLS, ...body, SEP];
      });
      const out = collateMlm(rows, rng, { ...opts, seqLen: 130 });
      expect(out.seqLen).toBe(130);
      for (let b = 0; b < rows.length; b++) {
        const row = rows[b];
        let rowSelected = 0;
        for (let t = 0; t < 130; t++) {
          const i = b * 130 + t, label = out.labels[i], input = out.inputIds[i];
          if (t >= row.length) {
            if (input !== PAD || label !== IGNORE_INDEX || out.attentionMask[i] !== 0) bad.padding++;
            continue;
          }
          if (out.attentionMask[i] !== 1) bad.padding++;
          if (specials.has(row[t])) {
            if (label !== IGNORE_INDEX || input !== row[t]) bad.special++;
            continue;
          }
          candidates++;
          if (label === IGNORE_INDEX) { if (input !== row[t]) bad.unselected++; continue; }
          if (label !== row[t]) bad.label++;
          selected++; rowSelected++;
          if (input === MASK) masked++;
          else if (input === row[t]) unchanged++;
          else { random++; if (specials.has(input) || input < 0 || input >= V) bad.randomSpecial++; }
        }
        if (rowSelected < 1) bad.emptyRow++;
      }
    }
    expect(bad).toEqual({ padding: 0, special: 0, unselected: 0, label: 0, randomSpecial: 0, emptyRow: 0 });
    const f = { selected: selected / candidates, mask: masked / selected, random: random / selected, unchanged: unchanged / selected };
    console.log(`mlm: ${selected}/${candidates} selected (${(100 * f.selected).toFixed(2)}%); of those ` +
      `[MASK] ${(100 * f.mask).toFixed(2)}%, random ${(100 * f.random).toFixed(2)}%, unchanged ${(100 * f.unchanged).toFixed(2)}%`);
    expect(Math.abs(f.selected - 0.15)).toBeLessThan(0.01);
    expect(Math.abs(f.mask - 0.8)).toBeLessThan(0.02);
    expect(Math.abs(f.random - 0.1)).toBeLessThan(0.02);
    expect(Math.abs(f.unchanged - 0.1)).toBeLessThan(0.02);
  });

  it('honours configured probabilities and marks padId inside a row as padding', () => {
    const rng = testRng();
    const rows = Array.from({ length: 50 }, () => [CLS, ...randomRow(rng, 200, 4, V), SEP, PAD, PAD]);
    const out = collateMlm(rows, rng, { ...opts, maskProb: 0.5, maskReplaceProb: 1, randomReplaceProb: 0 });
    let sel = 0;
    out.labels.forEach((l, i) => { if (l !== IGNORE_INDEX) { sel++; expect(out.inputIds[i]).toBe(MASK); } });
    expect(sel).toBe(50 * 100);
    expect(out.attentionMask[202]).toBe(0);
    expect(out.attentionMask[201]).toBe(1);
  });

  it('is a pure function of the RNG state', () => {
    const rows = [[CLS, 10, 11, 12, 13, 14, 15, SEP], [CLS, 20, 21, SEP]];
    const a = collateMlm(rows, new Rng(5), opts), b = collateMlm(rows, new Rng(5), opts);
    expect(a).toEqual(b);
    expect(rows[0]).toEqual([CLS, 10, 11, 12, 13, 14, 15, SEP]); // inputs untouched
  });

  it('rejects ids outside the vocabulary and overlong rows', () => {
    expect(() => collateMlm([[CLS, V, SEP]], new Rng(0), opts)).toThrow(IndexError);
    expect(() => collateMlm([[CLS, 5, SEP]], new Rng(0), { ...opts, seqLen: 2 })).toThrow(ShapeError);
    expect(() => collateMlm([[5]], new Rng(0), { ...opts, maskReplaceProb: 0.95 })).toThrow(ArgumentError);
  });
});

describe('span corruption (T5)', () => {
  const V = 32100, EOS = 1, PAD = 0;
  const sentinelIds = Array.from({ length: 100 }, (_, k) => V - 1 - k); // <extra_id_0> = 32099
  const opts = { sentinelIds, eosId: EOS, padId: PAD };

  it('random_spans_noise_mask: exact T5 counts, non-noise first, noise last; density ~0.15, mean span ~3', () => {
    const rng = testRng();
    const roundHalfEven = (x: number) => { const f = Math.floor(x); return x - f === 0.5 ? (f % 2 === 0 ? f : f + 1) : Math.round(x); };
    let tokens = 0, noise = 0, spans = 0;
    for (let i = 0; i < 3000; i++) {
      const L = 50 + rng.int(600);
      const mask = randomSpansNoiseMask(L, 0.15, 3, rng);
      let n = 0, s = 0;
      for (let t = 0; t < L; t++) { n += mask[t]; if (mask[t] && (t === 0 || !mask[t - 1])) s++; }
      const expectNoise = Math.min(Math.max(roundHalfEven(L * 0.15), 1), L - 1);
      expect(n).toBe(expectNoise);
      expect(s).toBe(Math.max(roundHalfEven(expectNoise / 3), 1));
      expect(mask[0]).toBe(0);
      expect(mask[L - 1]).toBe(1);
      tokens += L; noise += n; spans += s;
    }
    console.log(`span corruption: noise density ${(noise / tokens).toFixed(4)}, mean noise span length ${(noise / spans).toFixed(3)} over ${spans} spans`);
    expect(Math.abs(noise / tokens - 0.15)).toBeLessThan(0.003);
    expect(Math.abs(noise / spans - 3)).toBeLessThan(0.1);
  });

  it('span lengths are spread (not all equal to the mean), as a random segmentation gives', () => {
    const rng = testRng();
    const hist = new Map<number, number>();
    for (let i = 0; i < 500; i++) {
      const mask = randomSpansNoiseMask(512, 0.15, 3, rng);
      let run = 0;
      for (let t = 0; t <= 512; t++) {
        if (t < 512 && mask[t]) run++;
        else if (run > 0) { hist.set(run, (hist.get(run) ?? 0) + 1); run = 0; }
      }
    }
    expect(hist.get(1)! > 0 && hist.get(3)! > 0 && [...hist.keys()].some((k) => k >= 7)).toBe(true);
  });

  it('degenerate lengths follow T5: 0 and 1 have no noise, 2 has one noise token at the end', () => {
    const rng = new Rng(1);
    expect([...randomSpansNoiseMask(0, 0.15, 3, rng)]).toEqual([]);
    expect([...randomSpansNoiseMask(1, 0.15, 3, rng)]).toEqual([0]);
    expect([...randomSpansNoiseMask(2, 0.15, 3, rng)]).toEqual([0, 1]);
    expect([...randomSpansNoiseMask(10, 0, 3, rng)]).toEqual(new Array(10).fill(0));
  });

  it('input has one sentinel per span in order; target is sentinel + span per span, then EOS', () => {
    const rng = testRng();
    const tokens = randomRow(rng, 100, 2, 1000);
    const { input, target } = spanCorrupt(tokens, rng, opts);
    const inSentinels = input.filter((id) => id >= V - 100), tgtSentinels = target.filter((id) => id >= V - 100);
    expect(inSentinels).toEqual(sentinelIds.slice(0, inSentinels.length));
    expect(tgtSentinels).toEqual(inSentinels);
    expect(target[0]).toBe(sentinelIds[0]);
    expect(target[target.length - 1]).toBe(EOS);
    expect(input[input.length - 1]).toBe(EOS);
    expect(input.length - 1 - inSentinels.length + target.length - 1 - tgtSentinels.length).toBe(100);
  });

  it('RECONSTRUCTION: input + target give back the original row exactly, padded or not', () => {
    const rng = testRng();
    for (let i = 0; i < 300; i++) {
      const rows = Array.from({ length: 4 }, () => randomRow(rng, 1 + rng.int(300), 2, 1000));
      const batch = collateSpanCorruption(rows, rng, opts);
      const Ti = batch.inputLength, Tt = batch.targetLength;
      rows.forEach((row, b) => {
        const input = batch.inputIds.subarray(b * Ti, (b + 1) * Ti), labels = batch.labels.subarray(b * Tt, (b + 1) * Tt);
        expect(reconstructSpans(input, labels, sentinelIds, { eosId: EOS, padId: PAD })).toEqual(row);
      });
      const { input, target } = spanCorrupt(rows[0], rng, { ...opts, appendEosToInputs: false });
      expect(reconstructSpans(input, target, sentinelIds, { eosId: EOS })).toEqual(rows[0]);
    }
  });

  it('reconstructSpans rejects inconsistent pairs', () => {
    const [s0, s1] = sentinelIds;
    expect(reconstructSpans([5, s0, 8, s1], [s0, 6, 7, s1, 9], sentinelIds)).toEqual([5, 6, 7, 8, 9]);
    expect(() => reconstructSpans([5, s1], [s1, 6], sentinelIds)).toThrow('expected sentinel 0');
    expect(() => reconstructSpans([5, s0, s1], [s0, 6], sentinelIds)).toThrow('has no span in the target');
    expect(() => reconstructSpans([5, s0], [s0, 6, s1, 7], sentinelIds)).toThrow('2 spans but the input only 1');
    expect(() => reconstructSpans([5], [6, s0], sentinelIds)).toThrow('not a sentinel');
  });

  it('labels padded with -100, decoder inputs = start id + labels shifted right, masks match', () => {
    const rng = testRng();
    const rows = [randomRow(rng, 40, 2, 1000), randomRow(rng, 10, 2, 1000)];
    const batch = collateSpanCorruption(rows, rng, { ...opts, inputLength: 64, targetLength: 20, decoderStartId: PAD });
    expect([batch.batchSize, batch.inputLength, batch.targetLength]).toEqual([2, 64, 20]);
    for (let b = 0; b < 2; b++) {
      const labels = [...batch.labels.subarray(b * 20, (b + 1) * 20)];
      const dec = [...batch.decoderInputIds.subarray(b * 20, (b + 1) * 20)];
      const n = labels.indexOf(IGNORE_INDEX) < 0 ? 20 : labels.indexOf(IGNORE_INDEX);
      expect(labels[n - 1]).toBe(EOS);
      expect(labels.slice(n).every((l) => l === IGNORE_INDEX)).toBe(true);
      expect(dec[0]).toBe(PAD);
      expect(dec.slice(1, n)).toEqual(labels.slice(0, n - 1));
      expect(dec.slice(n).every((d) => d === PAD)).toBe(true);
      expect([...batch.decoderAttentionMask.subarray(b * 20, (b + 1) * 20)]).toEqual(labels.map((l) => (l === IGNORE_INDEX ? 0 : 1)));
      const inputs = [...batch.inputIds.subarray(b * 64, (b + 1) * 64)];
      const m = [...batch.attentionMask.subarray(b * 64, (b + 1) * 64)];
      const len = m.indexOf(0) < 0 ? 64 : m.indexOf(0);
      expect(inputs[len - 1]).toBe(EOS);
      expect(inputs.slice(len).every((x) => x === PAD)).toBe(true);
    }
    expect(() => collateSpanCorruption([randomRow(rng, 100, 2, 1000)], rng, { ...opts, inputLength: 50 })).toThrow(ShapeError);
  });

  it('spanCorruptionLengths matches T5 (512 -> 568 raw tokens, 114 targets) and rows of that size fit exactly', () => {
    expect(spanCorruptionLengths(512)).toEqual({ tokensLength: 568, targetsLength: 114 });
    // 141 tokens: 21 noise in 7 spans -> 120 + 7 + EOS = 128 inputs, 21 + 7 + EOS = 29 targets; 142 would need 129.
    expect(spanCorruptionLengths(128)).toEqual({ tokensLength: 141, targetsLength: 29 });
    const rng = testRng();
    for (const inputsLength of [64, 128, 512]) {
      const { tokensLength, targetsLength } = spanCorruptionLengths(inputsLength);
      const rows = Array.from({ length: 8 }, () => randomRow(rng, tokensLength, 2, 1000));
      const batch = collateSpanCorruption(rows, rng, { ...opts, inputLength: inputsLength, targetLength: targetsLength });
      expect(batch.attentionMask.every((x) => x === 1)).toBe(true);
      expect(batch.decoderAttentionMask.every((x) => x === 1)).toBe(true);
    }
  });

  it('rejects rows that already contain sentinels, and too few sentinels', () => {
    expect(() => spanCorrupt([5, sentinelIds[3], 6], new Rng(0), opts)).toThrow('already holds sentinel');
    expect(() => spanCorrupt(new Array(200).fill(5), new Rng(0), { ...opts, sentinelIds: sentinelIds.slice(0, 3) })).toThrow('sentinel ids given');
  });
});
