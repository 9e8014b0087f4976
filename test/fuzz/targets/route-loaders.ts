/**
 * Fuzz target: route files in every format (text, l3fwd, Click routes, bgpdump -m) through the
 * loaders, as generated valid tables, as junk, and as valid tables with bytes mutated.
 * Allowed outcomes: routes loaded, or a RouteFileError naming the file (and a line within the
 * input). When every line was generated valid and nothing was mutated, the loaded routes must
 * equal the generated ones exactly (the naive re-parse: we know what each line says).
 */
import fc from 'fast-check';
import type { FuzzTarget } from '../fuzz-target.js';
import { parseRoutes, RouteFileError, type RouteFormat } from '../../../core/routes/load-routes.js';
import { formatIPv4 } from '../../../core/routes/ipv4.js';
import type { NextHop } from '../../../core/structures/multi-fib/next-hops.js';

const FILE = 'fuzz-routes';

interface RouteSpec {
  addr: number;
  len: number;
  gateway: number | null;
  port: number | null;
  peer: number;
  as: number;
}

interface Line {
  route: RouteSpec | null;
  junk: string;
}

export interface RouteLoaderInput {
  format: RouteFormat;
  auto: boolean;
  skipBad: boolean;
  lines: Line[];
  crlf: boolean;
  mutations: { at: number; bytes: number[]; cut: number }[];
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const routeSpec: fc.Arbitrary<RouteSpec> = fc.record({
  addr: u32,
  len: fc.integer({ min: 0, max: 32 }),
  gateway: fc.option(fc.integer({ min: 1, max: 0xffffffff }), { nil: null }),
  port: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: null }),
  peer: fc.constantFrom(0xc0000201, 0xc0000202, 0x0a000001),
  as: fc.integer({ min: 1, max: 4_000_000_000 }),
});
const junkChars = fc.constantFrom(...'0123456789./|:R# \t,;-abxTABLE_DUMP\n\r\u00ff'.split(''));
const line: fc.Arbitrary<Line> = fc.oneof(
  { weight: 6, arbitrary: routeSpec.map((route) => ({ route, junk: '' })) },
  { weight: 1, arbitrary: fc.string({ unit: junkChars, maxLength: 40 }).map((junk) => ({ route: null, junk })) },
  { weight: 1, arbitrary: fc.constantFrom('', '# comment', '; note', '2001:db8::/32 2001:db8::1').map((junk) => ({ route: null, junk })) },
);
const mutation = fc.record({
  at: fc.nat(),
  bytes: fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(10, 47, 46, 124, 58, 32, 48, 57)), { maxLength: 4 }),
  cut: fc.integer({ min: 0, max: 3 }),
});

export const arbitrary: fc.Arbitrary<RouteLoaderInput> = fc.record({
  format: fc.constantFrom<RouteFormat>('text', 'l3fwd', 'click', 'bgpdump'),
  auto: fc.boolean(),
  skipBad: fc.boolean(),
  lines: fc.array(line, { maxLength: 30 }),
  crlf: fc.boolean(),
  mutations: fc.oneof({ weight: 2, arbitrary: fc.constant<RouteLoaderInput['mutations']>([]) }, { weight: 1, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 4 }) }),
});

/** Lines every loader of `format` passes over without a route or an error (blank, comments, IPv6). */
function neutralLine(format: RouteFormat, junk: string): boolean {
  if (junk === '' || junk === '# comment') return true;
  if (junk === '; note') return format === 'text' || format === 'l3fwd';
  if (junk.startsWith('2001:')) return format !== 'bgpdump';
  return false;
}

const mask = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

/** The line a generated route becomes in `format`, and the next hop the loader must give it. */
function render(format: RouteFormat, r: RouteSpec): { text: string; fib: string; hop: NextHop } {
  const p = `${formatIPv4(r.addr)}/${r.len}`;
  switch (format) {
    case 'text':
      if (r.gateway !== null) return { text: `${p} ${formatIPv4(r.gateway)}`, fib: 'default', hop: { gateway: r.gateway } };
      if (r.port !== null) return { text: `${p}\t${r.port}`, fib: 'default', hop: { port: r.port } };
      return { text: p, fib: 'default', hop: {} };
    case 'l3fwd':
      return { text: `R${p} ${r.port ?? 0}`, fib: 'default', hop: { port: r.port ?? 0 } };
    case 'click': {
      const port = r.port ?? 0;
      if (r.gateway !== null) return { text: `${p} ${formatIPv4(r.gateway)} ${port}`, fib: 'default', hop: { gateway: r.gateway, port } };
      return { text: `${p} ${port}`, fib: 'default', hop: { port } };
    }
    case 'bgpdump': {
      const gw = r.gateway ?? 0x0a000001;
      const peer = formatIPv4(r.peer);
      return { text: `TABLE_DUMP2|1483228800|B|${peer}|${r.as}|${p}|${r.as} 3356|IGP|${formatIPv4(gw)}|0|0||NAG||`, fib: `${peer} AS${r.as}`, hop: { gateway: gw } };
    }
  }
}

export async function check(input: RouteLoaderInput): Promise<void> {
  const expected = new Map<string, { prefix: number; len: number; hop: NextHop }[]>();
  const texts: string[] = [];
  let allValid = true;
  for (const l of input.lines) {
    if (l.route === null) {
      texts.push(l.junk);
      // Blank lines and comments are valid in every format; IPv6 lines are counted and skipped.
      if (!neutralLine(input.format, l.junk)) allValid = false;
      continue;
    }
    const r = render(input.format, l.route);
    texts.push(r.text);
    const list = expected.get(r.fib) ?? [];
    list.push({ prefix: (l.route.addr & mask(l.route.len)) >>> 0, len: l.route.len, hop: r.hop });
    expected.set(r.fib, list);
  }
  let bytes: Uint8Array = new TextEncoder().encode(texts.join(input.crlf ? '\r\n' : '\n'));
  for (const m of input.mutations) {
    const at = bytes.length === 0 ? 0 : m.at % (bytes.length + 1);
    const next = new Uint8Array(bytes.length + m.bytes.length - Math.min(m.cut, bytes.length - at));
    next.set(bytes.subarray(0, at));
    next.set(m.bytes, at);
    next.set(bytes.subarray(at + Math.min(m.cut, bytes.length - at)), at + m.bytes.length);
    bytes = next;
  }
  const mutated = input.mutations.length > 0;
  const lineCount = bytes.reduce((n, b) => n + (b === 10 ? 1 : 0), 1);
  let loaded;
  try {
    loaded = parseRoutes(bytes, FILE, { format: input.auto ? 'auto' : input.format, skipBad: input.skipBad });
  } catch (e) {
    if (!(e instanceof RouteFileError)) throw new Error(`loader crashed (${input.format}): ${(e as Error).stack ?? String(e)}`);
    if (!e.message.startsWith(`${FILE}:`)) throw new Error(`error does not name the file: ${e.message}`);
    if (e.line < 0 || e.line > lineCount) throw new Error(`error names line ${e.line} of a ${lineCount}-line input: ${e.message}`);
    if (!mutated && allValid && !input.auto) throw new Error(`valid ${input.format} input refused: ${e.message}`);
    return;
  }
  for (const f of loaded.fibs) {
    for (let i = 0; i < f.count; i++) {
      if (f.len[i] > 32 || ((f.prefix[i] >>> 0) & ~mask(f.len[i])) !== 0) throw new Error(`route ${i} of ${f.name}: prefix ${f.prefix[i] >>> 0}/${f.len[i]} not masked`);
      if (f.hop[i] < 0 || f.hop[i] >= loaded.nextHops.length) throw new Error(`route ${i} of ${f.name}: next hop ${f.hop[i]} out of the table`);
    }
  }
  // Auto-detection may read a valid file of one format as another (a text file is also Click-ish): compare only when told the format.
  if (mutated || !allValid || input.auto) return;
  const got = new Map<string, { prefix: number; len: number; hop: NextHop }[]>();
  for (const f of loaded.fibs) {
    if (f.count === 0) continue;
    got.set(f.name, Array.from({ length: f.count }, (_, i) => ({ prefix: f.prefix[i] >>> 0, len: f.len[i], hop: { ...loaded.nextHops[f.hop[i]] } })));
  }
  const a = JSON.stringify([...expected].sort());
  const b = JSON.stringify([...got].sort());
  if (a !== b) throw new Error(`loaded routes differ from the generated ones (${input.format}):\n  want ${a.slice(0, 400)}\n  got  ${b.slice(0, 400)}`);
}

export const target: FuzzTarget<RouteLoaderInput> = { name: 'route-loaders', arbitrary, check };
