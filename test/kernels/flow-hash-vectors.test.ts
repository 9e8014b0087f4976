/**
 * The flow-hash reference against the published RSS verification suite (Microsoft, "Verifying
 * the RSS Hash Calculation"; the same table is DPDK's app/test/test_thash.c v4_tbl): default key,
 * IPv4-only and IPv4-with-TCP hashes of five address/port pairs.
 */
import { describe, expect, it } from 'vitest';
import { type FlowHashIo, flowHashReference, RSS_DEFAULT_KEY, toeplitzHash, toeplitzTable } from '../../core/kernels/flow-hash/index.js';

const VECTORS: { src: string; sport: number; dst: string; dport: number; ipv4: number; tcp: number }[] = [
  { src: '66.9.149.187', sport: 2794, dst: '161.142.100.80', dport: 1766, ipv4: 0x323e8fc2, tcp: 0x51ccc178 },
  { src: '199.92.111.2', sport: 14230, dst: '65.69.140.83', dport: 4739, ipv4: 0xd718262a, tcp: 0xc626b0ea },
  { src: '24.19.198.95', sport: 12898, dst: '12.22.207.184', dport: 38024, ipv4: 0xd2d0a5de, tcp: 0x5c2b394a },
  { src: '38.27.205.30', sport: 48228, dst: '209.142.163.6', dport: 2217, ipv4: 0x82989176, tcp: 0xafc7327f },
  { src: '153.39.163.191', sport: 44251, dst: '202.188.127.2', dport: 1303, ipv4: 0x5d1809c5, tcp: 0x10e828a2 },
];

const ip = (s: string): number => s.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);

describe('flow-hash reference (RSS Toeplitz, Microsoft default key)', () => {
  it('bit-serial definition reproduces the published vectors', () => {
    for (const v of VECTORS) {
      const b = new Uint8Array(12);
      new DataView(b.buffer).setUint32(0, ip(v.src));
      new DataView(b.buffer).setUint32(4, ip(v.dst));
      new DataView(b.buffer).setUint16(8, v.sport);
      new DataView(b.buffer).setUint16(10, v.dport);
      expect(toeplitzHash(RSS_DEFAULT_KEY, b.subarray(0, 8)).toString(16)).toBe(v.ipv4.toString(16));
      expect(toeplitzHash(RSS_DEFAULT_KEY, b).toString(16)).toBe(v.tcp.toString(16));
    }
  });

  it('column form reproduces them for TCP, UDP and a portless protocol', () => {
    const n = VECTORS.length * 3;
    const io: FlowHashIo = {
      count: n,
      inputs: { src: new Int32Array(n), dst: new Int32Array(n), ports: new Int32Array(n), proto: new Int32Array(n) },
      outputs: { flow: new Int32Array(n) },
    };
    VECTORS.forEach((v, k) => {
      [6, 17, 1].forEach((proto, j) => {
        const i = k * 3 + j;
        io.inputs.src[i] = ip(v.src) | 0;
        io.inputs.dst[i] = ip(v.dst) | 0;
        io.inputs.ports[i] = (v.sport << 16) | v.dport;
        io.inputs.proto[i] = proto;
      });
    });
    flowHashReference(io, toeplitzTable(RSS_DEFAULT_KEY));
    VECTORS.forEach((v, k) => {
      expect(io.outputs.flow[k * 3] >>> 0).toBe(v.tcp);
      expect(io.outputs.flow[k * 3 + 1] >>> 0).toBe(v.tcp);
      expect(io.outputs.flow[k * 3 + 2] >>> 0).toBe(v.ipv4);
    });
  });

  it('table form equals the bit-serial definition on random inputs', () => {
    const table = toeplitzTable();
    let seed = 12345;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) | 0);
    for (let k = 0; k < 2000; k++) {
      const b = new Uint8Array(12);
      const dv = new DataView(b.buffer);
      for (let j = 0; j < 3; j++) dv.setInt32(4 * j, rnd());
      const io: FlowHashIo = {
        count: 1,
        inputs: { src: Int32Array.of(dv.getInt32(0)), dst: Int32Array.of(dv.getInt32(4)), ports: Int32Array.of(dv.getInt32(8)), proto: Int32Array.of(17) },
        outputs: { flow: new Int32Array(1) },
      };
      flowHashReference(io, table);
      expect(io.outputs.flow[0] >>> 0).toBe(toeplitzHash(RSS_DEFAULT_KEY, b));
    }
  });
});
