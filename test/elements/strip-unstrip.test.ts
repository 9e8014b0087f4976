import { describe, expect, it } from 'vitest';
import { Strip } from '../../elements/strip.js';
import { Unstrip } from '../../elements/unstrip.js';
import { ConfigError } from '../../core/config/source-location.js';
import { args, batchOf, contents, etherFrame, ids, ipv4Packet, make } from './helpers.js';

describe('Strip', () => {
  it('moves each window by LENGTH without copying and marks raw IP after Strip(14)', () => {
    const ip = ipv4Packet();
    const b = batchOf([etherFrame(0x0800, ip), etherFrame(0x0800, ip)]);
    const arena = b.data;
    const s = make(Strip, ['14']);
    const [out] = s.process(b);
    expect(out).toBe(b);
    expect(out!.data).toBe(arena);
    expect(contents(out)).toEqual([[...ip], [...ip]]);
    expect(out!.linkType).toBe(101);
    expect(s.handlers().count.read!()).toBe('2');
  });

  it('empties packets shorter than LENGTH (counted), like Click pull', () => {
    const b = batchOf([new Uint8Array(10), new Uint8Array(30)]);
    const s = make(Strip, ['14']);
    const [out] = s.process(b);
    expect(out!.length[0]).toBe(0);
    expect(out!.length[1]).toBe(16);
    expect(s.handlers().short.read!()).toBe('1');
    expect(s.summary()).toEqual({ count: 2, short: 1 });
  });

  it('leaves the link type alone for other lengths or non-Ethernet batches', () => {
    expect(make(Strip, ['4']).process(batchOf([new Uint8Array(20)]))[0]!.linkType).toBe(1);
    expect(make(Strip, ['14']).process(batchOf([new Uint8Array(20)], { linkType: 113 }))[0]!.linkType).toBe(113);
  });

  it('rejects a bad LENGTH with its location', () => {
    expect(() => Strip.parseConfig(args('-1'))).toThrow(ConfigError);
    expect(() => Strip.parseConfig(args('abc'))).toThrow(/t\.click:1:10: bad LENGTH/);
    expect(() => Strip.parseConfig(args('14', '2'))).toThrow(/unexpected argument/);
    expect(Strip.parseConfig(args('LENGTH 14'))).toEqual({ LENGTH: 14 });
  });
});

describe('Unstrip', () => {
  it('restores what Strip removed and the Ethernet link type', () => {
    const frame = etherFrame(0x0800, ipv4Packet());
    const b = batchOf([frame]);
    make(Strip, ['14']).process(b);
    const u = make(Unstrip, ['14']);
    const [out] = u.process(b);
    expect(contents(out)).toEqual([[...frame]]);
    expect(out!.linkType).toBe(1);
    expect(u.handlers().count.read!()).toBe('1');
  });

  it('drops and counts packets without headroom, never touching other bytes', () => {
    const b = batchOf([new Uint8Array([1, 2, 3]), new Uint8Array([4, 5, 6]), new Uint8Array([7, 8, 9])], { headroom: 4 });
    b.offset[1] += 2; // packet 1 has 6 bytes of headroom
    b.length[1] -= 2;
    const before = b.data.slice();
    const u = make(Unstrip, ['6']);
    const [out] = u.process(b);
    expect(ids(out)).toEqual([1]);
    expect(out!.offset[0]).toBe(b.base[0]);
    expect(u.handlers().drops.read!()).toBe('2');
    expect(b.data).toEqual(before);
  });
});
