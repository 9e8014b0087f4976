/**
 * The route-line limit is checked a window of bytes at a time (load-routes.ts checkLineLengths),
 * not line by line: generated texts with lines right at, just over and far over the limit, empty
 * lines and a last line with or without its newline must give exactly the lines a line-by-line
 * check names, in the whole-text and the gzip paths, and the same routes.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadRouteFile, parseRoutes } from '../../core/routes/load-routes.js';
import { seededRandom as rng } from '../support/seeded-random.js';

const MAX = 64;

/** A route line padded with spaces to `len` bytes (at least the route itself). */
function line(i: number, len: number): string {
  const route = `10.${(i >>> 8) & 255}.${i & 255}.0/24`;
  return route.padEnd(len, ' ');
}

describe('route-line limit: windowed check against a line-by-line one', () => {
  it('names every over-long line and keeps every other route (20 generated texts)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hetbox-line-limit-'));
    for (let t = 0; t < 20; t++) {
      const r = rng(1000 + t);
      const lines: string[] = [];
      const n = 30 + Math.floor(r() * 200);
      let long = 0;
      for (let i = 0; i < n; i++) {
        const pick = r();
        // At most 9 over-long lines, so every message fits the 10 kept.
        let len: number;
        if (pick < 0.1) len = 0;
        else if (pick < 0.25) len = MAX;
        else if (pick < 0.35 && long < 9) len = MAX + 1;
        else if (pick < 0.4 && long < 9) len = MAX + 1 + Math.floor(r() * 3 * MAX);
        else len = 14 + Math.floor(r() * (MAX - 14));
        if (len > MAX) long++;
        lines.push(len === 0 ? '' : line(i, len));
      }
      const text = lines.join('\n') + (r() < 0.5 ? '\n' : '');
      const expected = lines.flatMap((l, i) => (l.length > MAX ? [`r.txt:${i + 1}: line longer than ${MAX} bytes (the route-line limit)`] : []));
      const routes = lines.filter((l) => l.length > 0 && l.length <= MAX).length;
      const bytes = new TextEncoder().encode(text);
      const whole = parseRoutes(bytes, 'r.txt', { maxLineBytes: MAX, skipBad: true });
      expect(whole.skippedMessages).toEqual(expected);
      expect(whole.skipped).toBe(expected.length);
      expect(whole.fibs[0].count).toBe(routes);
      if (expected.length > 0) expect(() => parseRoutes(bytes, 'r.txt', { maxLineBytes: MAX })).toThrow(expected[0]);
      const gz = path.join(dir, `r${t}.txt.gz`);
      fs.writeFileSync(gz, gzipSync(bytes));
      const inflated = loadRouteFile(gz, { maxLineBytes: MAX, skipBad: true });
      expect(inflated.skippedMessages).toEqual(expected.map((m) => m.replace('r.txt', gz)));
      expect(inflated.fibs[0].count).toBe(routes);
      expect(Array.from(inflated.fibs[0].prefix)).toEqual(Array.from(whole.fibs[0].prefix));
    }
  });
});
