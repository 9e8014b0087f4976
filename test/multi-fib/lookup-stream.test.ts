import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { runLookupStream } from '../../app/lookup-stream.js';
import { lookupBatch } from '../../core/structures/multi-fib/lookup-batch.js';
import { loadRouteFile } from '../../core/routes/load-routes.js';
import { formatIPv4 } from '../../core/routes/ipv4.js';
import { NaiveLpm, rng, sampleAddresses } from './naive-lpm.js';

const DATA = path.resolve(import.meta.dirname, '../../../shared/data');
const files = ['20170101.0000', '20170112.0800'].map((d) => path.join(DATA, `routes/preprocessed-ipv4.rib.${d}.txt`));

async function run(input: string, lookup?: Parameters<typeof runLookupStream>[0]['lookup']) {
  const output = new PassThrough();
  const errors = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  output.on('data', (c: Buffer) => out.push(c.toString()));
  errors.on('data', (c: Buffer) => err.push(c.toString()));
  const res = await runLookupStream({ fibFiles: files, input: Readable.from([input.slice(0, 7), input.slice(7)]), output, errors, lookup, batchSize: 1000 });
  return { res, out: out.join(''), err: err.join('') };
}

describe('runLookupStream', () => {
  it('answers ADDRESS and FIBINDEX ADDRESS lines as ADDRESS PREFIX NEXTHOP, matching a naive LPM', async () => {
    const naive = new NaiveLpm();
    const loaded = files.map((f) => loadRouteFile(f));
    const gw: string[] = [];
    loaded.forEach((l, fib) => {
      const x = l.fibs[0];
      for (let i = 0; i < x.count; i++) naive.set(fib, x.prefix[i] >>> 0, x.len[i], gw.push(formatIPv4(l.nextHops[x.hop[i]].gateway!)) - 1);
    });
    const x = loaded[0].fibs[0];
    const addrs = sampleAddresses(x.prefix, x.len, 5000, rng(3));
    const lines = Array.from(addrs, (a, i) => (i % 2 === 0 ? formatIPv4(a) : `1 ${formatIPv4(a)}`));
    const { res, out, err } = await run(lines.join('\n') + '\n');
    expect(err).toBe('');
    expect(res.lookups).toBe(5000);
    expect(res.mismatches).toBe(0);
    const got = out.trim().split('\n');
    expect(got.length).toBe(5000);
    for (let i = 0; i < addrs.length; i++) {
      const fib = i % 2;
      const m = naive.match(fib, addrs[i] >>> 0);
      const words = got[i].split(' ');
      expect(words[0]).toBe(formatIPv4(addrs[i]));
      if (m === null) expect(words.slice(1)).toEqual(['-', '-']);
      else {
        expect(words[1].split('/')[1]).toBe(String(m.len));
        expect(words[2]).toBe(gw[m.nh]);
      }
    }
  });

  it('reports bad lines with their numbers and goes on', async () => {
    const { res, out, err } = await run('1.0.4.1\nnot-an-address\n7 1.0.4.1\n\n# comment\n1 1.0.4.1\n300.1.1.1');
    expect(err).toBe("line 2: bad IPv4 address 'not-an-address'\nline 3: no FIB '7' (FIBs 0..1)\nline 7: bad IPv4 address '300.1.1.1'\n");
    expect(res.badLines).toBe(3);
    expect(out.split('\n').filter((l) => l !== '').length).toBe(2);
  });

  it('reports a batch lookup that disagrees with the table', async () => {
    const broken = (image: Int32Array, vrf: Int32Array | null, dst: Int32Array, out: Int32Array, n: number): void => {
      lookupBatch(image, vrf, dst, out, n);
      out[0] = -1;
    };
    const { res, err } = await run('1.0.4.1\n1.0.4.2\n', broken);
    expect(res.mismatches).toBe(1);
    expect(err).toMatch(/^line 1: batch lookup answered -1 but the table says \d+\n$/);
  });
});
