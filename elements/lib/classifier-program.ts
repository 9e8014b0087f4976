/**
 * Classifier patterns (Click's syntax) compiled once into an Int32Array program, and the pure
 * batch matcher over it. The program is plain data so a kernel layer can upload it to a
 * device and run the same loop there; `classifyBatch` is the CPU reference form.
 *
 * Program layout (all int32):
 *   [0]                 number of patterns
 *   per pattern:        nclauses, words (size of this pattern's record, header included)
 *     per clause:       negate (0/1), need (bytes the packet must have), nbytes,
 *                       then nbytes triples: offset, mask, value (value already masked)
 * A pattern of zero clauses (`-`) matches every packet.
 */
import { quoteUserText } from '../../core/quote-user-text.js';

/** Why a pattern text is not valid Classifier syntax; `index` is the pattern's position. */
export class PatternError extends Error {
  constructor(readonly index: number, readonly detail: string) {
    super(detail);
    this.name = 'PatternError';
  }
}

/** The largest byte offset a clause may name (a packet is at most 64 KiB). */
const MAX_OFFSET = 65535;

interface Clause {
  negate: boolean;
  offsets: number[];
  masks: number[];
  values: number[];
}

const HEX = '0123456789abcdefABCDEF';

function parseClause(text: string, index: number): Clause {
  let t = text;
  const negate = t.startsWith('!');
  if (negate) t = t.slice(1);
  const slash = t.indexOf('/');
  if (slash <= 0) throw new PatternError(index, `clause '${text}' is not offset/value`);
  const offText = t.slice(0, slash);
  if (!/^\d+$/.test(offText)) throw new PatternError(index, `clause '${text}': offset '${offText}' is not a decimal number`);
  const offset = Number(offText);
  const rest = t.slice(slash + 1);
  const pct = rest.indexOf('%');
  const valueText = pct < 0 ? rest : rest.slice(0, pct);
  const maskText = pct < 0 ? null : rest.slice(pct + 1);
  if (valueText.length === 0) throw new PatternError(index, `clause '${text}' has no value`);
  if (valueText.length % 2 !== 0) throw new PatternError(index, `clause '${text}': value '${valueText}' must have an even number of hex digits`);
  if (maskText !== null && maskText.length !== valueText.length) throw new PatternError(index, `clause '${text}': mask '${maskText}' must have as many hex digits as the value`);
  const nbytes = valueText.length / 2;
  if (offset + nbytes - 1 > MAX_OFFSET) throw new PatternError(index, `clause '${text}' reaches past byte ${MAX_OFFSET}`);
  const c: Clause = { negate, offsets: [], masks: [], values: [] };
  for (let b = 0; b < nbytes; b++) {
    let value = 0;
    let mask = 0;
    for (let h = 0; h < 2; h++) {
      const ch = valueText[2 * b + h];
      value <<= 4;
      mask <<= 4;
      if (ch === '?') continue;
      if (!HEX.includes(ch)) throw new PatternError(index, `clause '${text}': '${ch}' is not a hex digit or '?'`);
      value |= parseInt(ch, 16);
      mask |= 0xf;
    }
    if (maskText !== null) {
      const mh = maskText.slice(2 * b, 2 * b + 2);
      if (!/^[0-9a-fA-F]{2}$/.test(mh)) throw new PatternError(index, `clause '${text}': mask '${maskText}' is not hex`);
      mask &= parseInt(mh, 16);
    }
    c.offsets.push(offset + b);
    c.masks.push(mask);
    c.values.push(value & mask);
  }
  return c;
}

/** Parse one pattern (space-separated clauses, or `-`). Throws PatternError. */
export function parsePattern(text: string, index: number): Clause[] {
  const words = text.trim().split(/\s+/).filter((w) => w !== '');
  if (words.length === 0) throw new PatternError(index, 'empty pattern (write - to match every packet)');
  if (words.length === 1 && words[0] === '-') return [];
  if (words.includes('-')) throw new PatternError(index, `'-' must stand alone in a pattern, got ${quoteUserText(text)}`);
  return words.map((w) => parseClause(w, index));
}

/** Compile patterns into the program `classifyBatch` runs. Throws PatternError naming the pattern. */
export function compileClassifier(patterns: readonly string[]): Int32Array {
  const words: number[] = [patterns.length];
  patterns.forEach((text, index) => {
    const clauses = parsePattern(text, index);
    const start = words.length;
    words.push(clauses.length, 0);
    for (const c of clauses) {
      const need = Math.max(...c.offsets) + 1;
      words.push(c.negate ? 1 : 0, need, c.offsets.length);
      for (let b = 0; b < c.offsets.length; b++) words.push(c.offsets[b], c.masks[b], c.values[b]);
    }
    words[start + 1] = words.length - start;
  });
  return Int32Array.from(words);
}

/**
 * Classify `count` packets: `outPort[i]` becomes the index of the first pattern packet i
 * matches, or -1. A clause whose bytes run past the packet's end does not match (so its
 * negation does). Returns how many packets matched nothing.
 */
export function classifyBatch(
  program: Int32Array,
  data: Uint8Array,
  offset: Int32Array,
  length: Int32Array,
  count: number,
  outPort: Int32Array,
): number {
  const npatterns = program[0];
  let unmatched = 0;
  for (let i = 0; i < count; i++) {
    const base = offset[i];
    const len = length[i];
    let port = -1;
    let pc = 1;
    for (let p = 0; p < npatterns; p++) {
      const nclauses = program[pc];
      const next = pc + program[pc + 1];
      let q = pc + 2;
      let ok = true;
      for (let c = 0; c < nclauses; c++) {
        const negate = program[q];
        const nbytes = program[q + 2];
        let match = program[q + 1] <= len;
        if (match) {
          let t = q + 3;
          for (let b = 0; b < nbytes; b++, t += 3) {
            if ((data[base + program[t]] & program[t + 1]) !== program[t + 2]) {
              match = false;
              break;
            }
          }
        }
        if (match === (negate !== 0)) {
          ok = false;
          break;
        }
        q += 3 + 3 * nbytes;
      }
      if (ok) {
        port = p;
        break;
      }
      pc = next;
    }
    outPort[i] = port;
    if (port < 0) unmatched++;
  }
  return unmatched;
}
