/**
 * The text scanner reads its common line (`A.B.C.D/LEN`, alone or with a next hop seen before)
 * in a one-pass fast path and every other line in its general path (load-routes.ts
 * fastTextLines). A blank at a line's start means nothing to the format but keeps the line out
 * of the fast path, so a generated text and the same text with every line indented must load
 * the same: routes, next hops (and the lines that named them first), skipped lines and their
 * messages, line counts across gzip blocks, and the first error without skipBad. The texts mix
 * fast-form lines with near misses on every check the fast path makes.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadRouteFile, parseRoutes, type LoadedRoutes } from '../../core/routes/load-routes.js';
import { seededRandom as rng } from '../support/seeded-random.js';

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

const HOPS = ['10.0.0.1', '192.168.1.254', '7', '65535', '65536', 'eth0', 'up-link', '1.2.3', '0x10'];

/** One line (without its end): mostly the fast form, often a near miss of one of its checks. */
function genLine(r: () => number): string {
  const o = (): string => String(Math.floor(r() * 256));
  const quad = `${o()}.${o()}.${o()}.${o()}`;
  const len = String(Math.floor(r() * 33));
  const hop = pick(r, HOPS);
  switch (Math.floor(r() * 42)) {
    case 0: return `${quad}`; // no length: /32
    case 1: return `${quad}/${len} ${hop} label${Math.floor(r() * 3)}`;
    case 2: return `0${quad}/${len}`; // a 4-digit first octet (leading zero), still valid
    case 3: return `${quad}/0${len}`; // a 3-digit length: bad
    case 4: return `${quad}/${33 + Math.floor(r() * 60)}`; // length over 32
    case 5: return `256.${o()}.${o()}.${o()}/${len}`;
    case 6: return `${o()}.${o()}.${o()}/${len}`; // three octets
    case 7: return `${quad}.${o()}/${len}`; // five octets
    case 8: return `${quad}/`;
    case 9: return `${quad}/${len}   `; // blanks after the last token
    case 10: return `${quad}/${len}\t${hop}\t`;
    case 11: return `${quad}/${len} # comment`;
    case 12: return `${quad}/${len};comment`;
    case 13: return `${quad}/${len},${hop}`;
    case 14: return `2001:db8::/${len}`;
    case 15: return `${quad}/${len} fe80::1`; // a ':' anywhere: an IPv6 line
    case 16: return '';
    case 17: return '# a comment line';
    case 18: return `${quad}/${len} ${hop} x y`; // four fields: bad
    case 19: return `${quad}/${len}\r${hop}`; // a lone \r separates tokens
    case 20: return `${quad}/${len} \t ${hop}`;
    default: return r() < 0.5 ? `${quad}/${len}` : `${quad}/${len} ${hop}`;
  }
}

function genText(seed: number): string {
  const r = rng(seed);
  const n = 50 + Math.floor(r() * 400);
  let text = '';
  for (let i = 0; i < n; i++) {
    text += genLine(r);
    if (i < n - 1 || r() < 0.5) text += r() < 0.3 ? '\r\n' : '\n';
  }
  return text;
}

/** The same text with every line indented by one blank (outside the fast form, meaning unchanged). */
function indented(text: string): string {
  return text.split('\n').map((l) => ` ${l}`).join('\n');
}

function comparable(l: LoadedRoutes): unknown {
  return {
    fibs: l.fibs.map((f) => ({ name: f.name, count: f.count, prefix: [...f.prefix], len: [...f.len], hop: [...f.hop] })),
    nextHops: l.nextHops,
    hopLines: l.hopLines,
    skipped: l.skipped,
    skippedMessages: l.skippedMessages,
    skippedV6: l.skippedV6,
  };
}

function outcome(load: () => LoadedRoutes): unknown {
  try {
    return comparable(load());
  } catch (e) {
    return { error: (e as Error).message };
  }
}

describe('text route lines: fast path against the general path', () => {
  it('load the same as the same lines indented, whole text and gzip, with and without skipBad (40 generated texts)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hetbox-text-fast-'));
    try {
      fs.mkdirSync(path.join(dir, 'plain'));
      fs.mkdirSync(path.join(dir, 'indented'));
      let fastForm = 0;
      for (let t = 0; t < 40; t++) {
        const text = genText(500 + t);
        const plain = Buffer.from(text);
        const slow = Buffer.from(indented(text));
        fastForm += text.split('\n').filter((l) => /^\d+\.\d+\.\d+\.\d+\/\d+( \S+)?\r?$/.test(l)).length;
        for (const skipBad of [true, false]) {
          const a = outcome(() => parseRoutes(plain, 'f.txt', { format: 'text', skipBad }));
          const b = outcome(() => parseRoutes(slow, 'f.txt', { format: 'text', skipBad }));
          expect(a, `text ${t}, skipBad ${skipBad}`).toEqual(b);
        }
        // Through gzip: blocks of whole lines, so the fast path also starts and stops at block
        // edges (every tenth text repeated past 1.5 MiB, over the 1 MiB block).
        const whole = text.endsWith('\n') ? text : `${text}\n`;
        const copies = t % 10 === 0 ? Math.ceil((1.5 * 2 ** 20) / whole.length) : 1;
        // One name in two folders: messages name the file.
        const gz = path.join(dir, 'plain', `t${t}.txt.gz`);
        fs.writeFileSync(gz, gzipSync(Buffer.from(whole.repeat(copies))));
        const gzSlow = path.join(dir, 'indented', `t${t}.txt.gz`);
        fs.writeFileSync(gzSlow, gzipSync(Buffer.from(indented(whole).repeat(copies))));
        const c = outcome(() => loadRouteFile(gz, { format: 'text', skipBad: true }));
        const d = outcome(() => loadRouteFile(gzSlow, { format: 'text', skipBad: true }));
        expect(JSON.stringify(c).replaceAll('/indented/', '/plain/'), `gzip text ${t}`).toBe(JSON.stringify(d).replaceAll('/indented/', '/plain/'));
      }
      // The generator must keep producing the form the fast path takes, or this test compares two general paths.
      expect(fastForm).toBeGreaterThan(1000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
