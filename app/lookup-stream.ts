/**
 * The core of `hetbox lookup`: load route files as FIBs of one MultiFib, then stream lines
 * `ADDRESS` or `FIBINDEX ADDRESS` from `input` to `ADDRESS PREFIX NEXTHOP` on `output`
 * (`- -` when nothing matches), in batches through a batch lookup (the CPU form unless the
 * caller passes a backend's). The matched prefix comes from the logical form; when the batch
 * lookup's next hop disagrees with it, the line is reported on `errors` (a backend bug).
 * A bad input line is reported on `errors` with its line number and the rest continues.
 */
import type { Readable, Writable } from 'node:stream';
import path from 'node:path';
import { loadRouteFile, type LoadOptions } from '../core/routes/load-routes.js';
import { multiFibFromLoaded } from '../core/routes/build-multi-fib.js';
import { formatPrefix, parseAddress, formatIPv4 } from '../core/routes/ipv4.js';
import { formatNextHop } from '../core/structures/multi-fib/next-hops.js';
import { lookupBatch } from '../core/structures/multi-fib/lookup-batch.js';
import type { MultiFib } from '../core/structures/multi-fib/multi-fib.js';

export type BatchLookup = (image: Int32Array, vrf: Int32Array | null, dst: Int32Array, out: Int32Array, count: number) => void | Promise<void>;

export interface LookupStreamOptions {
  fibFiles: readonly string[];
  input: Readable;
  output: Writable;
  errors?: Writable;
  lookup?: BatchLookup;
  batchSize?: number;
  load?: LoadOptions;
}

export interface LookupStreamResult {
  lines: number;
  lookups: number;
  badLines: number;
  /** Lines where the batch lookup disagreed with the logical form. */
  mismatches: number;
  /** Per route file: bad lines skipped under `skipBad` (a file with none skipped is left out). */
  skippedRouteLines: { file: string; skipped: number; first: string }[];
  fib: MultiFib;
}

export async function runLookupStream(opts: LookupStreamOptions): Promise<LookupStreamResult> {
  const errors = opts.errors ?? process.stderr;
  const loaded = opts.fibFiles.map((f) => loadRouteFile(f, opts.load));
  const names = loaded.flatMap((l) => (l.fibs.length === 1 ? [path.basename(l.file)] : l.fibs.map((f) => `${path.basename(l.file)}:${f.name}`)));
  const fib = multiFibFromLoaded(loaded, names);
  const lookup = opts.lookup ?? lookupBatch;
  const size = opts.batchSize ?? 65536;
  const dst = new Int32Array(size);
  const vrf = new Int32Array(size);
  const out = new Int32Array(size);
  const lineNo = new Float64Array(size);
  let n = 0;
  const skippedRouteLines = loaded.filter((l) => l.skipped > 0).map((l) => ({ file: l.file, skipped: l.skipped, first: l.skippedMessages[0] }));
  const res: LookupStreamResult = { lines: 0, lookups: 0, badLines: 0, mismatches: 0, skippedRouteLines, fib };
  const hopText = new Map<number, string>();
  const textOf = (h: number): string => {
    let t = hopText.get(h);
    if (t === undefined) hopText.set(h, (t = formatNextHop(fib.nextHops.get(h))));
    return t;
  };

  const write = (s: string): Promise<void> | undefined => {
    if (opts.output.write(s)) return undefined;
    return new Promise((resolve) => opts.output.once('drain', () => resolve()));
  };

  const flush = async (): Promise<void> => {
    if (n === 0) return;
    await lookup(fib.imageI32, vrf, dst, out, n);
    let text = '';
    for (let i = 0; i < n; i++) {
      const a = dst[i] >>> 0;
      const m = fib.lookup(vrf[i], a);
      const expect = m === null ? -1 : m.nextHop;
      if (out[i] !== expect) {
        res.mismatches++;
        errors.write(`line ${lineNo[i]}: batch lookup answered ${out[i]} but the table says ${expect}\n`);
      }
      text += m === null ? `${formatIPv4(a)} - -\n` : `${formatIPv4(a)} ${formatPrefix(m.prefix, m.len)} ${out[i] < 0 ? '-' : textOf(out[i])}\n`;
    }
    res.lookups += n;
    n = 0;
    const p = write(text);
    if (p !== undefined) await p;
  };

  const handleLine = (line: string): void => {
    res.lines++;
    const t = line.trim();
    if (t === '' || t[0] === '#') return;
    const sp = t.search(/\s/);
    let f = 0;
    let addrText = t;
    if (sp >= 0) {
      const ft = t.slice(0, sp);
      addrText = t.slice(sp).trim();
      f = /^\d+$/.test(ft) ? Number(ft) : -1;
      if (!fib.isLive(f)) {
        res.badLines++;
        errors.write(`line ${res.lines}: no FIB '${ft}' (FIBs 0..${fib.fibCount - 1})\n`);
        return;
      }
    }
    const a = parseAddress(addrText);
    if (a === null) {
      res.badLines++;
      errors.write(`line ${res.lines}: bad IPv4 address '${addrText}'\n`);
      return;
    }
    dst[n] = a | 0;
    vrf[n] = f;
    lineNo[n] = res.lines;
    n++;
  };

  let rest = '';
  for await (const chunk of opts.input) {
    const s = rest + (typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('latin1'));
    let start = 0;
    for (let nl = s.indexOf('\n'); nl >= 0; nl = s.indexOf('\n', start)) {
      handleLine(s.slice(start, nl));
      start = nl + 1;
      if (n === size) await flush();
    }
    rest = s.slice(start);
  }
  if (rest !== '') handleLine(rest);
  await flush();
  return res;
}
