/**
 * Route file loaders: plain text (`prefix [nexthop [label]]`), DPDK l3fwd (`R<prefix> <port>`),
 * Click routes (`ADDR/LEN [GW] OUT`), and `bgpdump -m` text (one FIB per peer).
 *
 * The text scanner and the Click scanner work on bytes (no string, regex or split per line)
 * because a full table is 900k lines: a line's next-hop field is interned by its bytes, so it
 * is decoded once per distinct next hop, and the route goes straight into typed columns sized
 * from the line count. Click lines outside the common `A.B.C.D/LEN [GW] OUT` form go through
 * parseClickRoute. A gzip file is inflated and parsed a 1 MiB block of whole lines at a time,
 * so its text never exists whole (a long line's error may then come before a bad route line
 * earlier in the file but in a later block: the whole-text path checks every line's length
 * first). IPv6 lines are counted and skipped (the image is IPv4). A bad line is an error naming
 * file:line, or with `skipBad` it is counted and skipped; a file where every route line was bad
 * is an error even then.
 *
 * Bounds, so that a wrong path (`/dev/zero`, a capture, a directory) is a clear error rather
 * than an endless read: a route file (after gunzip) holds at most MAX_ROUTE_FILE_BYTES (a full
 * table is ~20 MB of text), a line at most MAX_ROUTE_LINE_BYTES. Every error is a
 * RouteFileError naming the file (and line when there is one).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { z } from 'zod';
import { parseAddress, parsePrefix } from './ipv4.js';
import { parseClickRoute } from './click-route.js';
import { ByteInterner } from './byte-interner.js';
import { GzipInflater } from '../pcap/gzip-inflater.js';
import { nextHopKey, type NextHop } from '../structures/multi-fib/next-hops.js';
import { quoteUserText } from '../quote-user-text.js';

export const RouteFormat = z.enum(['text', 'l3fwd', 'click', 'bgpdump']);
export type RouteFormat = z.infer<typeof RouteFormat>;

export const LoadOptions = z.object({
  format: z.union([RouteFormat, z.literal('auto')]).default('auto'),
  skipBad: z.boolean().default(false),
  /** Give lines without a next hop one of N synthetic next hops chosen by a hash of the prefix. */
  syntheticNextHops: z.number().int().min(1).max(1 << 20).optional(),
  /** Largest accepted file (after decompression), bytes. */
  maxBytes: z.number().int().min(1).default(256 * 1024 * 1024),
  /** Longest accepted line, bytes. */
  maxLineBytes: z.number().int().min(16).default(16 * 1024),
});
export type LoadOptions = z.input<typeof LoadOptions>;

/** Defaults of LoadOptions.maxBytes and maxLineBytes (documented limits). */
export const MAX_ROUTE_FILE_BYTES = 256 * 1024 * 1024;
export const MAX_ROUTE_LINE_BYTES = 16 * 1024;

export class RouteFileError extends Error {
  /** `line` 0: the error is about the whole file (unreadable, too large, nothing valid in it). */
  constructor(readonly file: string, readonly line: number, readonly detail: string) {
    super(line > 0 ? `${file}:${line}: ${detail}` : `${file}: ${detail}`);
    this.name = 'RouteFileError';
  }
}

export interface LoadedFib {
  name: string;
  count: number;
  prefix: Int32Array;
  len: Uint8Array;
  /** Index into `LoadedRoutes.nextHops`. */
  hop: Int32Array;
}

/** A loaded route whose next hop `bad(hop)` rejects: the first such line, for a located error. */
export function firstRouteWith(loaded: LoadedRoutes, bad: (hop: number) => boolean): { line: number; hop: number } | null {
  for (let h = 0; h < loaded.nextHops.length; h++) if (bad(h)) return { line: loaded.hopLines[h], hop: h };
  return null;
}

export interface LoadedRoutes {
  file: string;
  format: RouteFormat;
  fibs: LoadedFib[];
  nextHops: NextHop[];
  /** Per next hop: the first line that named it (1-based; 0 for synthetic next hops). */
  hopLines: number[];
  /** Bad lines skipped under `skipBad`, with the first few messages. */
  skipped: number;
  skippedMessages: string[];
  /** IPv6 routes seen and left out. */
  skippedV6: number;
}

export function loadRouteFile(path: string, options: LoadOptions = {}): LoadedRoutes {
  const opts = LoadOptions.parse(options);
  if (path.endsWith('.gz')) return loadGzipRoutes(path, opts);
  return parseRoutes(readBounded(path, opts.maxBytes), path, opts);
}

/** Inflated bytes parsed at a time from a gzip route file (whole lines; a longer line is over the limit anyway). */
const GZIP_BLOCK_BYTES = 1 << 20;
/** Most routes a gzip file's stated size may reserve column room for up front (past it, columns grow). */
const MAX_PRESIZED_ROUTES = 4 << 20;

/**
 * A gzip route file, inflated and parsed a block of whole lines at a time: the inflated text
 * (18 MB for a full table) never exists at once, only a 1 MiB block of it, so a table's load
 * holds the compressed file's reader, one block and the route columns. Line numbers, limits
 * and messages are those of parseRoutes on the whole text.
 */
function loadGzipRoutes(path: string, opts: z.output<typeof LoadOptions>): LoadedRoutes {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new RouteFileError(path, 0, `cannot open route file: ${(e as Error).message}`);
  }
  let inflater: GzipInflater | null = null;
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new RouteFileError(path, 0, 'is a directory, not a route file');
    if (st.size > opts.maxBytes) throw new RouteFileError(path, 0, `is ${st.size} bytes, over the route-file limit of ${opts.maxBytes} bytes`);
    const readAt = (buf: Uint8Array, off: number, len: number, pos: number): number => {
      try {
        return readSync(fd, buf, off, len, pos);
      } catch (e) {
        throw new RouteFileError(path, 0, `cannot read route file: ${(e as Error).message}`);
      }
    };
    inflater = new GzipInflater(readAt);
    const max = opts.maxLineBytes;
    let buf = new Uint8Array(Math.max(GZIP_BLOCK_BYTES, 2 * max + 2));
    let have = 0;
    let total = 0;
    let eof = false;
    let line = 1;
    let format: RouteFormat | null = opts.format === 'auto' ? null : opts.format;
    let sink: RouteSink | null = null;
    /** Inside a line longer than a whole block (already reported): drop bytes up to its newline. */
    let skipping = false;
    for (;;) {
      while (!eof && have < buf.length) {
        const n = inflater.read(buf, have, buf.length - have);
        if (n === 0) eof = true;
        have += n;
        total += n;
        if (total > opts.maxBytes) throw new RouteFileError(path, 0, `inflates to more than ${opts.maxBytes} bytes (the route-file limit)`);
      }
      if (inflater.error !== null) throw new RouteFileError(path, 0, `bad gzip data: ${inflater.error}`);
      if (sink === null) {
        format ??= detectFormatIn(buf.subarray(0, have), eof);
        if (format === null) {
          // Only comments so far: keep them and read on until a route line tells the format.
          const g = new Uint8Array(buf.length * 2);
          g.set(buf.subarray(0, have));
          buf = g;
          continue;
        }
        sink = new RouteSink(path, format, opts.skipBad, opts.syntheticNextHops);
        if (format !== 'bgpdump') sink.fib('default', presizedRoutes(fd, st.size, buf.subarray(0, have), opts.maxBytes));
      }
      if (skipping) {
        const nl = buf.subarray(0, have).indexOf(10);
        if (nl < 0) {
          have = 0;
          if (eof) break;
          continue;
        }
        // The newline stays: the dropped line parses as an empty one, as the blanked line would in the whole text.
        buf.copyWithin(0, nl, have);
        have -= nl;
        skipping = false;
      }
      if (eof) {
        parseBlock(buf.subarray(0, have), line, format!, sink, max);
        break;
      }
      const lastNl = buf.subarray(0, have).lastIndexOf(10);
      if (lastNl < 0) {
        // A full block without a newline: the line is longer than the limit.
        sink.bad(line, `line longer than ${max} bytes (the route-line limit)`);
        skipping = true;
        have = 0;
        continue;
      }
      line += parseBlock(buf.subarray(0, lastNl), line, format!, sink, max);
      buf.copyWithin(0, lastNl + 1, have);
      have -= lastNl + 1;
    }
    return finishRoutes(sink!, path, format!);
  } finally {
    inflater?.close();
    closeSync(fd);
  }
}

/**
 * Column room for a gzip file's routes: its stated inflated size (ISIZE, the trailer's last four
 * bytes) over the bytes per line of the first block. Only a hint (ISIZE is mod 2^32, a
 * multi-member file states its last member's size): a low one means the columns grow, a high
 * one is capped.
 */
function presizedRoutes(fd: number, size: number, first: Uint8Array, maxBytes: number): number {
  let lines = 1;
  for (let i = first.indexOf(10); i >= 0; i = first.indexOf(10, i + 1)) lines++;
  if (size < 18 || first.length === 0) return lines;
  const tail = new Uint8Array(4);
  if (readSync(fd, tail, 0, 4, size - 4) !== 4) return lines;
  const isize = Math.min(maxBytes, (tail[0] | (tail[1] << 8) | (tail[2] << 16) | (tail[3] << 24)) >>> 0);
  return Math.min(MAX_PRESIZED_ROUTES, Math.max(lines, Math.ceil((isize * lines) / first.length)));
}

/** The file's bytes, refusing directories and anything over `limit` bytes (devices report size 0, so read and count). */
function readBounded(path: string, limit: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new RouteFileError(path, 0, `cannot open route file: ${(e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new RouteFileError(path, 0, 'is a directory, not a route file');
    if (st.size > limit) throw new RouteFileError(path, 0, `is ${st.size} bytes, over the route-file limit of ${limit} bytes`);
    let buf = new Uint8Array(st.isFile() && st.size > 0 ? st.size + 1 : 65536);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (n > limit) break;
        const b = new Uint8Array(Math.min(buf.length * 2, limit + 1));
        b.set(buf);
        buf = b;
      }
      let got: number;
      try {
        got = readSync(fd, buf, n, buf.length - n, null);
      } catch (e) {
        throw new RouteFileError(path, 0, `cannot read route file: ${(e as Error).message}`);
      }
      if (got === 0) break;
      n += got;
    }
    if (n > limit) throw new RouteFileError(path, 0, `holds more than ${limit} bytes (the route-file limit)`);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export function detectFormat(bytes: Uint8Array): RouteFormat {
  return detectFormatIn(bytes, true) ?? 'text';
}

/** The format the first route line of `bytes` shows; null when `bytes` is not `complete` and ends before one. */
function detectFormatIn(bytes: Uint8Array, complete: boolean): RouteFormat | null {
  let i = 0;
  const undecided = complete ? 'text' : null;
  while (i < bytes.length) {
    while (i < bytes.length && (bytes[i] === 32 || bytes[i] === 9 || bytes[i] === 13)) i++;
    if (i === bytes.length) return undecided;
    const c = bytes[i];
    if (c === 10) { i++; continue; }
    if (c === 35 || c === 59) {
      while (i < bytes.length && bytes[i] !== 10) i++;
      continue;
    }
    if (!complete && i + 10 > bytes.length) return null;
    if (c === 82 /* R */ && bytes[i + 1] >= 48 && bytes[i + 1] <= 57) return 'l3fwd';
    if (c === 84 /* T */ && new TextDecoder().decode(bytes.subarray(i, i + 10)) === 'TABLE_DUMP') return 'bgpdump';
    return 'text';
  }
  return undecided;
}

export function parseRoutes(bytes: Uint8Array, file: string, options: LoadOptions = {}): LoadedRoutes {
  const opts = LoadOptions.parse(options);
  const format = opts.format === 'auto' ? detectFormat(bytes) : opts.format;
  if (bytes.length > opts.maxBytes) throw new RouteFileError(file, 0, `holds more than ${opts.maxBytes} bytes (the route-file limit)`);
  const sink = new RouteSink(file, format, opts.skipBad, opts.syntheticNextHops);
  parseBlock(bytes, 1, format, sink, opts.maxLineBytes);
  return finishRoutes(sink, file, format);
}

/** Parse whole lines `bytes`, the first being line `firstLine`; returns how many lines they were. */
function parseBlock(bytes: Uint8Array, firstLine: number, format: RouteFormat, sink: RouteSink, maxLineBytes: number): number {
  const text = checkLineLengths(bytes, maxLineBytes, sink, firstLine);
  if (format === 'bgpdump') {
    parseBgpdump(text, sink, firstLine);
    return countLines(text);
  }
  // One FIB with at most one route per line: a whole text sizes it once (the gzip path made it already).
  if (!sink.hasFib('default')) sink.fib('default', countLines(text));
  return format === 'click' ? parseClickLines(text, sink, firstLine) : scanText(text, sink, format === 'l3fwd', firstLine);
}

/** Lines of `bytes`: its newlines and one (the last line, possibly empty). */
function countLines(bytes: Uint8Array): number {
  let lines = 1;
  for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) lines++;
  return lines;
}

function finishRoutes(sink: RouteSink, file: string, format: RouteFormat): LoadedRoutes {
  const res = sink.result();
  const routes = res.fibs.reduce((s, f) => s + f.count, 0);
  if (routes === 0 && res.skipped > 0) {
    // Under skipBad a file of the wrong format would otherwise load as an empty table.
    throw new RouteFileError(file, 0, `no valid ${format} route: all ${res.skipped} route line(s) bad (first: ${res.skippedMessages[0]})`);
  }
  return res;
}

/**
 * A line over `max` bytes is an error, or under skipBad counted and blanked out (in a copy:
 * the caller's bytes are left alone) so the parsers skip it. A window of `max + 1` bytes from
 * a line's start with a newline in it clears every line up to that newline at once, so a table
 * of short lines costs one backward search per `max` bytes, not a look at every line.
 */
function checkLineLengths(input: Uint8Array, max: number, sink: RouteSink, firstLine: number): Uint8Array {
  let bytes = input;
  const n = bytes.length;
  /** Start of the line being checked; `line` is its number once counted up to `counted`. */
  let s = 0;
  let counted = 0;
  let line = firstLine;
  while (n - s > max) {
    const nl = bytes.lastIndexOf(10, s + max);
    if (nl >= s) {
      s = nl + 1;
      continue;
    }
    for (let i = bytes.indexOf(10, counted); i >= 0 && i < s; i = bytes.indexOf(10, i + 1)) line++;
    counted = s;
    sink.bad(line, `line longer than ${max} bytes (the route-line limit)`);
    const end = bytes.indexOf(10, s);
    // A copy: `slice` on a Node Buffer would be a view, and the caller's bytes must stay as they were.
    if (bytes === input) bytes = new Uint8Array(input);
    bytes.fill(32, s, end < 0 ? n : end);
    if (end < 0) break;
    s = end + 1;
  }
  return bytes;
}

/** Collects routes per FIB into growable columns and interns next hops. */
class RouteSink {
  fibs: { name: string; count: number; prefix: Int32Array; len: Uint8Array; hop: Int32Array }[] = [];
  private readonly fibByName = new Map<string, number>();
  nextHops: NextHop[] = [];
  hopLines: number[] = [];
  /** The line being parsed, recorded as the first line of next hops it introduces. */
  line = 0;
  private readonly hopIndex = new Map<string, number>();
  private readonly gwIndex = new Map<number, number>();
  /** Next-hop fields seen before, by their bytes: only a field's first sighting is decoded. */
  readonly hopText = new ByteInterner();
  /** The next hop naming nothing (`{}`), once interned: most lines of a bare prefix list. */
  private emptyHop = -1;
  skipped = 0;
  skippedMessages: string[] = [];
  skippedV6 = 0;

  constructor(readonly file: string, readonly format: RouteFormat, readonly skipBad: boolean, readonly synthetic: number | undefined) {
    if (synthetic !== undefined) for (let i = 0; i < synthetic; i++) this.hop({ label: `nh${i}` });
  }

  hasFib(name: string): boolean {
    return this.fibByName.has(name);
  }

  /** The FIB named `name`, created with room for `capacity` routes when new. */
  fib(name: string, capacity = 1024): number {
    let f = this.fibByName.get(name);
    if (f === undefined) {
      f = this.fibs.length;
      this.fibByName.set(name, f);
      const n = Math.max(capacity, 16);
      this.fibs.push({ name, count: 0, prefix: new Int32Array(n), len: new Uint8Array(n), hop: new Int32Array(n) });
    }
    return f;
  }

  hop(h: NextHop): number {
    const key = nextHopKey(h);
    let i = this.hopIndex.get(key);
    if (i === undefined) {
      i = this.nextHops.length;
      this.nextHops.push(h);
      this.hopLines.push(this.line);
      this.hopIndex.set(key, i);
    }
    return i;
  }

  /** Fast path for gateway-only next hops (most route files). */
  gatewayHop(gw: number): number {
    let i = this.gwIndex.get(gw);
    if (i === undefined) this.gwIndex.set(gw, (i = this.hop({ gateway: gw })));
    return i;
  }

  /** The next hop of a line that names none. */
  defaultHop(prefix: number, len: number): number {
    if (this.synthetic === undefined) return this.emptyHop >= 0 ? this.emptyHop : (this.emptyHop = this.hop({}));
    return ((Math.imul(prefix ^ (len << 24), 0x9e3779b1) >>> 0) >>> 8) % this.synthetic;
  }

  add(fib: number, prefix: number, len: number, hop: number): void {
    const c = this.fibs[fib];
    if (c.count === c.prefix.length) {
      const n = Math.max(c.count * 2, 16);
      const p = new Int32Array(n); p.set(c.prefix); c.prefix = p;
      const l = new Uint8Array(n); l.set(c.len); c.len = l;
      const h = new Int32Array(n); h.set(c.hop); c.hop = h;
    }
    // The int32 mask (maskOf's is a u32, a double above 2^31): the same bits.
    c.prefix[c.count] = len === 0 ? 0 : prefix & (-1 << (32 - len));
    c.len[c.count] = len;
    c.hop[c.count++] = hop;
  }

  bad(line: number, detail: string): void {
    if (!this.skipBad) throw new RouteFileError(this.file, line, detail);
    this.skipped++;
    if (this.skippedMessages.length < 10) this.skippedMessages.push(`${this.file}:${line}: ${detail}`);
  }

  result(): LoadedRoutes {
    if (this.fibs.length === 0) this.fib('default');
    return {
      file: this.file,
      format: this.format,
      // Views, not copies: a column sized to the file's line count has a few spare entries at most.
      fibs: this.fibs.map((f) => ({ ...f, prefix: f.prefix.subarray(0, f.count), len: f.len.subarray(0, f.count), hop: f.hop.subarray(0, f.count) })),
      nextHops: this.nextHops,
      hopLines: this.hopLines,
      skipped: this.skipped,
      skippedMessages: this.skippedMessages,
      skippedV6: this.skippedV6,
    };
  }
}

const decoder = new TextDecoder();

/** The last line fastTextLines took. */
let fastLineNo = 0;

/**
 * Lines from `i` on while fastTextLine takes them (`A.B.C.D/LEN` alone or with a next hop seen
 * before: a full table's lines), read in one pass where scanText's general path reads each
 * token twice; returns the position of the first line it leaves to scanText (`line` is the
 * line before `i`; fastLineNo the last one taken). A loop of its own so that scanText's general
 * path, which a clean table never runs, is not compiled into this loop: in one function, the
 * first line to reach it (or the loop's exit) would deoptimize the compiled loop for want of
 * type feedback.
 */
function fastTextLines(buf: Uint8Array, i: number, n: number, sink: RouteSink, fib: number, hopText: ByteInterner, line: number): number {
  while (i < n) {
    const end = fastTextLine(buf, i, n, hopText);
    if (end < 0) break;
    line++;
    sink.line = line;
    sink.add(fib, fastAddr, fastLen, fastHop >= 0 ? fastHop : sink.defaultHop(fastAddr, fastLen));
    i = end + 1;
  }
  fastLineNo = line;
  return i;
}

/** fastTextLine's route when it returns a line's end: int32 address (host bits as written), length, interned next hop or -1 for none. */
let fastAddr = 0;
let fastLen = 0;
let fastHop = -1;

/**
 * The line starting at `s` if it is `A.B.C.D/LEN` (octets of 1-3 digits up to 255, a length of
 * 1-2 digits up to 32), alone or followed by blanks and one next-hop token that `hopText`
 * already knows, then `\n`, `\r\n` or the end: the position of its newline (`n` at the end),
 * with the route in fastAddr/fastLen/fastHop. -1 for any other line, which then reads exactly
 * as the general path reads it (every line taken here is one that path takes the same way).
 */
function fastTextLine(buf: Uint8Array, s: number, n: number, hopText: ByteInterner): number {
  let j = s;
  let addr = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  let c = 0;
  while (j < n) {
    c = buf[j];
    if (c >= 48 && c <= 57) {
      if (++digits > 3) return -1;
      octet = octet * 10 + c - 48;
    } else if (c === 46) {
      if (digits === 0 || octet > 255 || dots === 3) return -1;
      addr = (addr << 8) | octet;
      dots++;
      octet = 0;
      digits = 0;
    } else break;
    j++;
  }
  if (c !== 47 || j === n || dots !== 3 || digits === 0 || octet > 255) return -1;
  addr = (addr << 8) | octet;
  j++;
  let len = 0;
  const lenStart = j;
  // At most 2 digits read: a third one is then the byte after the length, which no line end matches.
  while (j < n && j - lenStart < 2) {
    c = buf[j];
    if (c < 48 || c > 57) break;
    len = len * 10 + c - 48;
    j++;
  }
  if (j === lenStart || len > 32) return -1;
  fastAddr = addr;
  fastLen = len;
  fastHop = -1;
  if (j === n) return n;
  c = buf[j];
  if (c === 32 || c === 9) {
    do j++;
    while (j < n && (buf[j] === 32 || buf[j] === 9));
    const hs = j;
    while (j < n) {
      c = buf[j];
      if (c === 10 || c === 13) break;
      // Blanks, commas, comments and ':' (an IPv6 line) mean more than one plain token: the general path.
      if (c === 32 || c === 9 || c === 44 || c === 35 || c === 59 || c === 58) return -1;
      j++;
    }
    if (j === hs) return -1;
    const hop = hopText.get(buf, hs, j);
    if (hop < 0) return -1;
    fastHop = hop;
    if (j === n) return n;
    c = buf[j];
  }
  if (c === 13) {
    j++;
    if (j === n) return n;
    c = buf[j];
  }
  return c === 10 ? j : -1;
}

/**
 * `prefix [nexthop [label]]` lines (l3fwd: `R<prefix> <port>`), `#`/`;` comments.
 * A next hop that is an IPv4 address is a gateway, an integer a port, anything else a label.
 */
function scanText(buf: Uint8Array, sink: RouteSink, l3fwd: boolean, firstLine: number): number {
  const n = buf.length;
  const fib = sink.fib('default');
  let i = 0;
  let line = firstLine - 1;
  const starts = [0, 0, 0, 0];
  const ends = [0, 0, 0, 0];
  const hopText = sink.hopText;
  while (i < n) {
    if (!l3fwd) {
      // The common lines first, in a loop of their own (see fastTextLines); this one takes the rest.
      i = fastTextLines(buf, i, n, sink, fib, hopText, line);
      line = fastLineNo;
      if (i >= n) break;
    }
    line++;
    sink.line = line;
    // Tokens of this line, up to 4 (a 4th one is an error).
    let nt = 0;
    let v6 = false;
    let comment = false;
    while (i < n && buf[i] !== 10) {
      const c = buf[i];
      if (c === 32 || c === 9 || c === 13 || c === 44) { i++; continue; }
      if (c === 35 || c === 59) { comment = true; break; }
      const s = i;
      while (i < n) {
        const d = buf[i];
        if (d === 32 || d === 9 || d === 13 || d === 10 || d === 35 || d === 59 || d === 44) break;
        if (d === 58) v6 = true;
        i++;
      }
      if (nt < 4) { starts[nt] = s; ends[nt] = i; }
      nt++;
    }
    if (comment) while (i < n && buf[i] !== 10) i++;
    i++;
    if (nt === 0) continue;
    if (v6) { sink.skippedV6++; continue; }
    let s0 = starts[0];
    if (l3fwd) {
      if (buf[s0] !== 82) { sink.bad(line, `expected an l3fwd route 'R<prefix> <port>', got ${quoteUserText(decoder.decode(buf.subarray(s0, ends[0])))}`); continue; }
      s0++;
    }
    // Prefix: four octets, optional /len.
    let addr = 0;
    let octets = 0;
    let cur = -1;
    let len = 32;
    let j = s0;
    let ok = true;
    const e0 = ends[0];
    for (; j < e0; j++) {
      const c = buf[j];
      if (c >= 48 && c <= 57) {
        cur = cur < 0 ? c - 48 : cur * 10 + c - 48;
        if (cur > 255) { ok = false; break; }
      } else if (c === 46 || c === 47) {
        if (cur < 0 || octets === 4) { ok = false; break; }
        // Int32 shifts (the fourth octet wraps into the sign bit): `* 256` would overflow to a
        // double on a full table's upper half and deoptimize this loop in a fresh process.
        addr = (addr << 8) | cur;
        octets++;
        cur = -1;
        if (c === 47) break;
      } else { ok = false; break; }
    }
    if (ok && j === e0) {
      if (cur < 0 || octets !== 3) ok = false;
      else { addr = (addr << 8) | cur; octets++; }
    } else if (ok) {
      // After '/': the length.
      if (octets !== 4) ok = false;
      len = 0;
      let digits = 0;
      for (j++; ok && j < e0; j++) {
        const c = buf[j];
        if (c < 48 || c > 57 || ++digits > 2) { ok = false; break; }
        len = len * 10 + c - 48;
      }
      if (digits === 0 || len > 32) ok = false;
    }
    if (!ok) { sink.bad(line, `bad prefix '${decoder.decode(buf.subarray(starts[0], ends[0]))}'`); continue; }
    if (nt > 3 || (l3fwd && nt !== 2)) { sink.bad(line, l3fwd ? `expected 'R<prefix> <port>'` : `expected 'prefix [nexthop [label]]', got ${nt} fields`); continue; }
    let hop: number;
    // The address as its int32 bit pattern: a u32 above 2^31 passed to a call would be a boxed double per line.
    const a32 = addr | 0;
    if (nt === 1) hop = sink.defaultHop(a32, len);
    else if ((hop = hopText.get(buf, starts[1], ends[nt - 1])) < 0) {
      const t = decoder.decode(buf.subarray(starts[1], ends[1]));
      const gw = parseAddress(t);
      const label = nt === 3 ? decoder.decode(buf.subarray(starts[2], ends[2])) : undefined;
      if (l3fwd) {
        if (!/^\d+$/.test(t) || Number(t) > 65535) { sink.bad(line, `bad port '${t}'`); continue; }
        hop = sink.hop({ port: Number(t) });
      } else if (gw !== null && label === undefined) hop = sink.gatewayHop(gw);
      else if (gw !== null) hop = sink.hop({ gateway: gw, label });
      else if (/^\d+$/.test(t) && Number(t) <= 65535) hop = sink.hop(label === undefined ? { port: Number(t) } : { port: Number(t), label });
      else hop = sink.hop({ label: label === undefined ? t : `${t} ${label}` });
      hopText.set(buf, starts[1], ends[nt - 1], hop);
    }
    sink.add(fib, a32, len, hop);
  }
  // Lines: one per pass above, and an empty last one after a final newline (or in an empty text).
  const passes = line - firstLine + 1;
  return n === 0 || buf[n - 1] === 10 ? passes + 1 : passes;
}

/**
 * Click route lines. The common line, `A.B.C.D/LEN [GW] OUT` in plain ASCII, is parsed where it
 * lies in the buffer (clickLineFast); any other line (comments, several routes separated by
 * commas, masks, short forms, IPv6, non-ASCII, errors) goes through the string parser
 * (clickLineText), so every accepted form and every message stays what parseClickRoute says.
 */
function parseClickLines(buf: Uint8Array, sink: RouteSink, firstLine: number): number {
  const fib = sink.fib('default');
  const hopText = sink.hopText;
  const n = buf.length;
  let start = 0;
  let ln = firstLine - 1;
  while (start <= n) {
    let end = buf.indexOf(10, start);
    if (end < 0) end = n;
    ln++;
    // CRLF: the \r before a \n is not part of the line (a lone \r is, as in the string parser).
    const e = end < n && end > start && buf[end - 1] === 13 ? end - 1 : end;
    if (!clickLineFast(buf, start, e, ln, fib, sink, hopText)) {
      // The file's first line alone may start with a byte-order mark to drop (as decoding the whole file would).
      clickLineText((ln === 1 ? decoder : decoderKeepBOM).decode(buf.subarray(start, e)), ln, fib, sink);
    }
    start = end + 1;
  }
  return ln - firstLine + 1;
}

const decoderKeepBOM = new TextDecoder('utf-8', { ignoreBOM: true });

/** One line through parseClickRoute: `#` and `//` comments, comma-separated routes. */
function clickLineText(line: string, ln: number, fib: number, sink: RouteSink): void {
  for (const part of line.replace(/(#|\/\/).*$/, '').split(',')) {
    if (part.trim() === '') continue;
    if (part.includes(':')) { sink.skippedV6++; continue; }
    const r = parseClickRoute(part);
    sink.line = ln;
    if (typeof r === 'string') { sink.bad(ln, r); continue; }
    const h: NextHop = {};
    if (r.gateway !== undefined) h.gateway = r.gateway;
    if (r.port !== undefined) h.port = r.port;
    sink.add(fib, r.prefix, r.len, sink.hop(h));
  }
}

/** Dotted quad `A.B.C.D` in `buf[s..e)` as u32, or -1 (not exactly four octets of at most 255). */
function dottedQuad(buf: Uint8Array, s: number, e: number): number {
  let v = 0;
  let octets = 0;
  let cur = -1;
  for (let i = s; i < e; i++) {
    const c = buf[i];
    if (c >= 48 && c <= 57) {
      cur = cur < 0 ? c - 48 : cur * 10 + c - 48;
      if (cur > 255) return -1;
    } else if (c === 46) {
      if (cur < 0) return -1;
      v = v * 256 + cur;
      octets++;
      cur = -1;
    } else return -1;
  }
  if (cur < 0 || octets !== 3) return -1;
  return v * 256 + cur;
}

/**
 * `A.B.C.D/LEN [GW] OUT` with spaces or tabs between, added to the sink: true when the line was
 * one (or blank). False, having changed nothing, for anything else: the caller parses the line
 * as text then. Only lines parseClickRoute would accept the same way are taken here.
 */
function clickLineFast(buf: Uint8Array, s: number, e: number, ln: number, fib: number, sink: RouteSink, hopText: ByteInterner): boolean {
  // Up to three tokens of digits, '.', '/' and '-'; any other byte sends the line to the text parser.
  let t0s = 0, t0e = 0, t1s = 0, t1e = 0, t2s = 0, t2e = 0;
  let nt = 0;
  let i = s;
  while (i < e) {
    const c = buf[i];
    if (c === 32 || c === 9) { i++; continue; }
    const ts = i;
    while (i < e) {
      const d = buf[i];
      if ((d >= 48 && d <= 57) || d === 46 || d === 47 || d === 45) i++;
      else if (d === 32 || d === 9) break;
      else return false;
    }
    if (nt === 0) { t0s = ts; t0e = i; }
    else if (nt === 1) { t1s = ts; t1e = i; }
    else if (nt === 2) { t2s = ts; t2e = i; }
    else return false;
    nt++;
  }
  if (nt === 0) return true;
  if (nt === 1) return false;
  // Prefix: a full dotted quad, '/', one or two digits up to 32.
  const slash = buf.indexOf(47, t0s);
  if (slash < 0 || slash >= t0e) return false;
  const addr = dottedQuad(buf, t0s, slash);
  if (addr < 0) return false;
  const digits = t0e - slash - 1;
  if (digits < 1 || digits > 2) return false;
  let len = 0;
  for (let j = slash + 1; j < t0e; j++) {
    const c = buf[j];
    if (c < 48 || c > 57) return false;
    len = len * 10 + c - 48;
  }
  if (len > 32) return false;
  // GW: a dotted quad or '-'; with two tokens, a second token with a dot would be a gateway without OUT.
  let gw = 0;
  let ps = t1s, pe = t1e;
  if (nt === 3) {
    if (!(t1e - t1s === 1 && buf[t1s] === 45)) {
      gw = dottedQuad(buf, t1s, t1e);
      if (gw < 0) return false;
    }
    ps = t2s;
    pe = t2e;
  } else if (buf.indexOf(46, t1s) >= 0 && buf.indexOf(46, t1s) < t1e) return false;
  // OUT: -1, or up to five digits and at most 65535.
  let port: number;
  if (buf[ps] === 45) {
    if (pe - ps !== 2 || buf[ps + 1] !== 49) return false;
    port = -1;
  } else {
    if (pe - ps > 5) return false;
    port = 0;
    for (let j = ps; j < pe; j++) {
      const c = buf[j];
      if (c < 48 || c > 57) return false;
      port = port * 10 + c - 48;
    }
    if (port > 65535) return false;
  }
  sink.line = ln;
  let hop = hopText.get(buf, t1s, pe);
  if (hop < 0) {
    hop = sink.hop(gw !== 0 ? { gateway: gw, port } : { port });
    hopText.set(buf, t1s, pe, hop);
  }
  sink.add(fib, addr | 0, len, hop);
  return true;
}

/** `bgpdump -m`: TABLE_DUMP|time|B|peer|peerAS|prefix|aspath|origin|nexthop|... — one FIB per peer. */
function parseBgpdump(buf: Uint8Array, sink: RouteSink, firstLine: number): void {
  const text = decoder.decode(buf);
  let pos = 0;
  let line = firstLine - 1;
  while (pos < text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    const s = text.slice(pos, end).trim();
    pos = end + 1;
    line++;
    sink.line = line;
    if (s === '' || s[0] === '#') continue;
    const f = s.split('|');
    if (f.length < 9 || !f[0].startsWith('TABLE_DUMP')) { sink.bad(line, `expected a bgpdump -m TABLE_DUMP line`); continue; }
    if (f[5].includes(':')) { sink.skippedV6++; continue; }
    const p = parsePrefix(f[5]);
    const gw = parseAddress(f[8]);
    const peer = parseAddress(f[3]);
    if (typeof p === 'string') { sink.bad(line, p); continue; }
    if (gw === null) { sink.bad(line, `bad next hop '${f[8]}'`); continue; }
    if (peer === null) { sink.bad(line, `bad peer address '${f[3]}'`); continue; }
    sink.add(sink.fib(`${f[3]} AS${f[4]}`), p.prefix, p.len, sink.gatewayHop(gw));
  }
}
