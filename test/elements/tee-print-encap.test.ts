import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { Tee } from '../../elements/tee.js';
import { Print } from '../../elements/print.js';
import { EtherEncap } from '../../elements/ether-encap.js';
import { Strip } from '../../elements/strip.js';
import { DecIPTTL } from '../../elements/dec-ip-ttl.js';
import { HandlerError } from '../../core/handlers.js';
import { args, batchOf, contents, DATA, etherFrame, ids, ipv4Packet, make, readPcap } from './helpers.js';

describe('Tee', () => {
  it('copies to N outputs; an in-place edit on one branch does not reach the others', () => {
    const t = make(Tee, ['3'], 3);
    expect(Tee.outputsFor(t.config)).toBe(3);
    const b = batchOf([ipv4Packet({ ttl: 10 }), ipv4Packet({ ttl: 20 })]);
    b.anno('dst')[1] = 77;
    const out = t.process(b);
    expect(out.length).toBe(3);
    expect(out[0]).toBe(b);
    make(DecIPTTL).process(out[1]!);
    expect(contents(out[0])).toEqual(contents(out[2]));
    expect(out[1]!.bytes(0)[8]).toBe(9);
    expect(out[0]!.bytes(0)[8]).toBe(10);
    expect(out[2]!.anno('dst')[1]).toBe(77);
    expect(ids(out[2])).toEqual([0, 1]);
    expect(t.handlers().count.read!()).toBe('2');
  });

  it('without N uses the connected outputs', () => {
    const t = make(Tee, [], 2);
    expect(Tee.outputsFor(t.config)).toBeUndefined();
    expect(t.process(batchOf([new Uint8Array(4)])).length).toBe(2);
    expect(() => Tee.parseConfig(args('0'))).toThrow(/bad N/);
  });
});

describe('Print', () => {
  it("prints Click's 'label: len | hex' lines, one write per batch, and passes the batch", () => {
    const cap = readPcap(path.join(DATA, 'pcaps/pcapplusplus/example.pcap'));
    const p = make(Print, ['ok', '8']);
    const writes: string[] = [];
    p.write = (s) => writes.push(s);
    const b = batchOf(cap.packets.slice(0, 2));
    make(Strip, ['14']).process(b);
    expect(p.process(b)[0]).toBe(b);
    expect(writes.length).toBe(1);
    const lines = writes[0].trimEnd().split('\n');
    const hex = (u: Uint8Array) => [...u].map((x) => x.toString(16).padStart(2, '0')).join('');
    const expectLine = (pkt: Uint8Array) => {
      const ip = pkt.subarray(14);
      return `ok: ${String(ip.length).padStart(4)} | ${hex(ip.subarray(0, 4))} ${hex(ip.subarray(4, 8))}`;
    };
    expect(lines).toEqual([expectLine(cap.packets[0]), expectLine(cap.packets[1])]);
    expect(p.handlers().count.read!()).toBe('2');
  });

  it('CONTENTS NONE, TIMESTAMP and the active handler', () => {
    const p = make(Print, ['x', 'CONTENTS NONE', 'TIMESTAMP true']);
    const writes: string[] = [];
    p.write = (s) => writes.push(s);
    const b = batchOf([new Uint8Array(5)]);
    b.tsSec[0] = 12;
    b.tsNsec[0] = 5000;
    p.process(b);
    expect(writes).toEqual(['x 12.000005000:    5\n']);
    p.handlers().active.write!('false');
    p.process(b);
    expect(writes.length).toBe(1);
    expect(p.handlers().active.read!()).toBe('false');
    expect(() => p.handlers().active.write!('perhaps')).toThrow(HandlerError);
  });
});

describe('EtherEncap', () => {
  it('prepends the header in the headroom and sets the Ethernet link type', () => {
    const ip = ipv4Packet();
    const frame = etherFrame(0x0800, ip, [0, 0x1b, 0x21, 0x3a, 0x4f, 0x5c], [2, 0, 0, 0, 0, 9]);
    const b = batchOf([ip], { linkType: 101 });
    const e = make(EtherEncap, ['0x0800', '02:00:00:00:00:09', '00:1b:21:3a:4f:5c']);
    const [out] = e.process(b);
    expect(out!.data).toBe(b.data);
    expect(contents(out)).toEqual([[...frame]]);
    expect(out!.linkType).toBe(1);
    expect(e.handlers().count.read!()).toBe('1');
  });

  it('drops and counts packets without headroom, without touching their neighbours', () => {
    const b = batchOf([Uint8Array.of(1, 2), Uint8Array.of(3, 4)], { headroom: 14 });
    b.offset[1] -= 1; // packet 1 now has 13 bytes of headroom
    b.length[1] += 1;
    const before = b.data.slice();
    const e = make(EtherEncap, ['0x86dd', '0:1:2:3:4:5', '6-7-8-9-a-b']);
    const [out] = e.process(b);
    expect(ids(out)).toEqual([0]);
    expect(e.handlers().drops.read!()).toBe('1');
    expect(b.data.subarray(14)).toEqual(before.subarray(14));
  });

  it('handlers read and write the fields with validation', () => {
    const e = make(EtherEncap, ['2048', '00:00:00:00:00:01', '00:00:00:00:00:02']);
    const h = e.handlers();
    expect(h.ethertype.read!()).toBe('0x0800');
    h.ethertype.write!('0x0806');
    h.src.write!('aa:bb:cc:dd:ee:ff');
    h.dst.write!('11:22:33:44:55:66');
    expect([h.ethertype.read!(), h.src.read!(), h.dst.read!()]).toEqual(['0x0806', 'aa:bb:cc:dd:ee:ff', '11:22:33:44:55:66']);
    const [out] = e.process(batchOf([Uint8Array.of(9)]));
    expect(contents(out)[0]).toEqual([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x08, 0x06, 9]);
    expect(() => h.src.write!('aa:bb')).toThrow(/src: bad value/);
    expect(() => h.ethertype.write!('0x10000')).toThrow(HandlerError);
    expect(() => EtherEncap.parseConfig(args('0x0800', 'zz:00:00:00:00:00', '00:00:00:00:00:00'))).toThrow(/t\.click:1:15: bad SRC/);
  });
});
