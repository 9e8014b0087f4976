/**
 * Kernel `acl-match` on the host: the ClassBench rule parser (every refusal names
 * file:line:column and what is wrong there), `formatAclRule` parsing back to the same rule, the
 * image layout word for word, the image and delta checks of kind `acl-rules-v4`, and the CPU
 * form over the image against the reference over the logical rules on arbitrary rules and
 * packets (fast-check). Every backend's form against the reference: kernel-suite.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NullBackend } from '../../backends/null/null-backend.js';
import { ACL_MATCH, aclMatchCpu, aclMatchReference, NO_RULE, type AclMatchIo } from '../../core/kernels/acl-match/index.js';
import { ACL_HEADER_WORDS, ACL_RULES_V4, aclAction, aclImage, aclReplaceDelta, checkAclDelta, checkAclImage } from '../../core/structures/acl/acl-image.js';
import { AclRuleError, formatAclRule, loadAclRules, MAX_ACL_RULES, parseAclRules, prefixMask, ruleMatches, type AclRule } from '../../core/structures/acl/acl-rules.js';
import { applyDeltaToImage } from '../../core/structures/image.js';
import { checkDelta, checkImage, structureKind } from '../../core/structures/structure-kinds.js';
import { aclRule, edgeCaseAcl, ip } from './acl-fixtures.js';

const FILE = 'rules/test.acl';
const GOOD = '@192.168.0.0/16 10.1.2.3/32 0 : 65535 80 : 80 0x06/0xFF deny';

/** The AclRuleError parsing `text` throws, checked to carry the file, line and column its message names. */
function refusal(text: string): AclRuleError {
  try {
    parseAclRules(text, FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(AclRuleError);
    const err = e as AclRuleError;
    expect(err.name).toBe('AclRuleError');
    expect(err.file).toBe(FILE);
    expect(err.message.startsWith(`${FILE}:${err.line}:${err.column}: ${err.detail}`)).toBe(true);
    return err;
  }
  throw new Error(`parsed without an error: ${JSON.stringify(text)}`);
}

/** The message for `bad` as line 3, after a good rule and a comment. */
function messageAtLine3(bad: string): string {
  return refusal(`${GOOD}\n# a comment line\n${bad}\n${GOOD}\n`).message;
}

describe('parseAclRules refuses a bad rule with file:line:column', () => {
  const cases: [string, string, string][] = [
    ['a rule without its @', `  192.168.0.0/16 10.1.2.3/32 0 : 65535 80 : 80 0x06/0xFF deny`, `${FILE}:3:3: a rule starts with '@' (ClassBench format: @SRC/LEN DST/LEN SPORT : SPORT DPORT : DPORT PROTO/MASK [allow|deny]), got '192.168.0.0/16'`],
    ['a lone @', `@ 192.168.0.0/16 10.1.2.3/32 0 : 65535 80 : 80 0x06/0xFF deny`, `${FILE}:3:2: expected a source prefix right after '@'`],
    ['a source octet above 255', `@192.168.256.0/16 10.1.2.3/32 0 : 65535 80 : 80 0x06/0xFF deny`, `${FILE}:3:2: octet 256 of '192.168.256.0/16' is above 255`],
    ['a destination octet above 255', `@192.168.0.0/16 10.1.2.999/32 0 : 65535 80 : 80 0x06/0xFF deny`, `${FILE}:3:17: octet 999 of '10.1.2.999/32' is above 255`],
    ['three octets', `@192.168.0/16 10.1.2.3/32 0 : 65535 80 : 80 0x06/0xFF deny`, `${FILE}:3:2: expected an IPv4 prefix ADDR/LEN, got '192.168.0/16'`],
    ['no length', `@192.168.0.0 10.1.2.3/32 0 : 65535 80 : 80 0x06/0xFF deny`, `${FILE}:3:2: expected an IPv4 prefix ADDR/LEN, got '192.168.0.0'`],
    ['a length above 32', `@192.168.0.0/16 10.1.2.3/33 0 : 65535 80 : 80 0x06/0xFF deny`, `${FILE}:3:17: prefix length 33 of '10.1.2.3/33' is above 32`],
    ['no destination', `@192.168.0.0/16`, `${FILE}:3:16: missing destination prefix`],
    ['a port above 65535', `@192.168.0.0/16 10.1.2.3/32 0 : 65536 80 : 80 0x06/0xFF deny`, `${FILE}:3:33: source port high '65536' is not a port 0..65535`],
    ['a named port', `@192.168.0.0/16 10.1.2.3/32 0 : 65535 http : 80 0x06/0xFF deny`, `${FILE}:3:39: destination port low 'http' is not a port 0..65535`],
    ['a negative port', `@192.168.0.0/16 10.1.2.3/32 -1 : 65535 80 : 80 0x06/0xFF deny`, `${FILE}:3:29: source port low '-1' is not a port 0..65535`],
    ['a port range without spaces', `@192.168.0.0/16 10.1.2.3/32 0:65535 80 : 80 0x06/0xFF deny`, `${FILE}:3:29: source port low '0:65535' is not a port 0..65535`],
    ['a reversed source range', `@192.168.0.0/16 10.1.2.3/32 1024 : 1023 80 : 80 0x06/0xFF deny`, `${FILE}:3:29: source port range 1024 : 1023 is empty`],
    ['a reversed destination range', `@192.168.0.0/16 10.1.2.3/32 0 : 65535 443 : 80 0x06/0xFF deny`, `${FILE}:3:39: destination port range 443 : 80 is empty`],
    ["a '-' for the source ports' ':'", `@192.168.0.0/16 10.1.2.3/32 0 - 65535 80 : 80 0x06/0xFF deny`, `${FILE}:3:31: expected ':' between the source ports, got '-'`],
    ["no ':' between the destination ports", `@192.168.0.0/16 10.1.2.3/32 0 : 65535 80 80 0x06/0xFF deny`, `${FILE}:3:42: expected ':' between the destination ports, got '80'`],
    ["the line ends before the ':'", `@192.168.0.0/16 10.1.2.3/32 0`, `${FILE}:3:30: expected ':' between the source ports, got 'end of line'`],
    ['the line ends before the high port', `@192.168.0.0/16 10.1.2.3/32 0 : 65535 80 :`, `${FILE}:3:43: missing destination port high`],
    ['no protocol', `@192.168.0.0/16 10.1.2.3/32 0 : 65535 80 : 80`, `${FILE}:3:46: missing protocol PROTO/MASK`],
    ['a protocol above 255', `@192.168.0.0/16 10.1.2.3/32 0 : 65535 80 : 80 0x106/0xFF deny`, `${FILE}:3:47: protocol '0x106/0xFF' is above 255`],
    ['a protocol mask above 255', `@192.168.0.0/16 10.1.2.3/32 0 : 65535 80 : 80 6/256 deny`, `${FILE}:3:47: protocol '6/256' is above 255`],
    ['a protocol by name', `@192.168.0.0/16 10.1.2.3/32 0 : 65535 80 : 80 tcp deny`, `${FILE}:3:47: expected protocol VALUE/MASK (e.g. 0x06/0xFF), got 'tcp'`],
    ['a protocol without its mask', `@192.168.0.0/16 10.1.2.3/32 0 : 65535 80 : 80 0x06 deny`, `${FILE}:3:47: expected protocol VALUE/MASK (e.g. 0x06/0xFF), got '0x06'`],
    ['TCP flags with a nonzero mask', `@192.168.0.0/16 10.1.2.3/32 0 : 65535 80 : 80 0x06/0xFF 0x02/0x12 deny`, `${FILE}:3:57: matching TCP flags ('0x02/0x12') is not supported; use 0x0000/0x0000`],
    ['TCP flags above 16 bits', `@192.168.0.0/16 10.1.2.3/32 0 : 65535 80 : 80 0x06/0xFF 0x10000/0x0000 deny`, `${FILE}:3:57: TCP flags '0x10000/0x0000' is above 65535`],
    ['an unknown action', `@192.168.0.0/16 10.1.2.3/32 0 : 65535 80 : 80 0x06/0xFF permit`, `${FILE}:3:57: expected the action allow or deny, got 'permit'`],
    ['junk after the action', `@192.168.0.0/16 10.1.2.3/32 0 : 65535 80 : 80 0x06/0xFF deny 7`, `${FILE}:3:62: unexpected '7' after the rule`],
    ['junk after flags and action', `@192.168.0.0/16 10.1.2.3/32 0 : 65535 80 : 80 0x06/0xFF 0x0000/0x0000 allow extra`, `${FILE}:3:77: unexpected 'extra' after the rule`],
    ['flags after the action', `@192.168.0.0/16 10.1.2.3/32 0 : 65535 80 : 80 0x06/0xFF deny 0x0000/0x0000`, `${FILE}:3:62: unexpected '0x0000/0x0000' after the rule`],
  ];
  for (const [what, bad, message] of cases) {
    it(what, () => {
      expect(messageAtLine3(bad)).toBe(message);
    });
  }

  it('names the line of a CRLF file and columns as without the CR', () => {
    expect(refusal(`${GOOD}\r\n\r\n${GOOD.replace('deny', 'drop')}\r\n`).message).toBe(`${FILE}:3:57: expected the action allow or deny, got 'drop'`);
  });

  it('counts tabs as one column each (ClassBench files separate fields with tabs)', () => {
    expect(refusal('@10.0.0.0/8\t10.0.0.1/32\t0 : 65535\t80 : 80\t0x06/0xFF\tmaybe').message).toBe(`${FILE}:1:53: expected the action allow or deny, got 'maybe'`);
  });

  it('refuses more than MAX_ACL_RULES rules at the first rule too many', () => {
    const text = `${Array.from({ length: MAX_ACL_RULES + 1 }, () => GOOD).join('\n')}\n`;
    expect(refusal(text).message).toBe(`${FILE}:${MAX_ACL_RULES + 1}:1: more than ${MAX_ACL_RULES} rules`);
    expect(parseAclRules(text.slice(0, text.lastIndexOf(GOOD)), FILE)).toHaveLength(MAX_ACL_RULES);
  });
});

describe('parseAclRules reads ClassBench rules', () => {
  it('reads every field, masks host bits and the protocol value, defaults the action to deny', () => {
    const rules = parseAclRules(['@10.1.2.3/8 192.168.1.77/24 1024 : 65535 80 : 80 0x06/0xFF', '@255.255.255.255/0 200.1.2.3/32 0 : 0 65535 : 65535 0x17/0x0F ALLOW'].join('\n'), FILE);
    expect(rules).toEqual<AclRule[]>([
      { src: ip('10.0.0.0'), srcLen: 8, dst: ip('192.168.1.0'), dstLen: 24, sportLo: 1024, sportHi: 65535, dportLo: 80, dportHi: 80, protoValue: 6, protoMask: 0xff, action: 'deny', line: 1 },
      { src: 0, srcLen: 0, dst: ip('200.1.2.3'), dstLen: 32, sportLo: 0, sportHi: 0, dportLo: 65535, dportHi: 65535, protoValue: 7, protoMask: 0x0f, action: 'allow', line: 2 },
    ]);
  });

  it('skips comments and blank lines, accepts CRLF, tabs, decimal protocols and the wildcard flags field', () => {
    const text = [
      '# ClassBench-style ACL',
      '',
      '   ',
      '@192.168.0.0/16 10.1.2.3/32 0 : 65535 80 : 80 0x06/0xFF allow # web',
      '\t# indented comment',
      '@0.0.0.0/0\t0.0.0.0/0\t0 : 65535\t0 : 65535\t0x00/0x00\t0x0000/0x0000',
      '@1.2.3.4/32 5.6.7.8/32 53 : 53 0 : 65535 17/255 0x0000/0x0000 deny',
      '',
    ].join('\r\n');
    const rules = parseAclRules(text, FILE);
    expect(rules.map((r) => [r.line, r.action, r.protoValue, r.protoMask])).toEqual([
      [4, 'allow', 6, 0xff],
      [6, 'deny', 0, 0],
      [7, 'deny', 17, 0xff],
    ]);
    expect(rules[2]).toMatchObject({ src: ip('1.2.3.4'), srcLen: 32, dst: ip('5.6.7.8'), dstLen: 32, sportLo: 53, sportHi: 53, dportLo: 0, dportHi: 65535 });
    expect(parseAclRules('', FILE)).toEqual([]);
    expect(parseAclRules('# nothing\n\n', FILE)).toEqual([]);
  });

  it('loadAclRules reads a file and names it in errors; an unreadable file is an AclRuleError', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hetbox-acl-'));
    try {
      const good = path.join(dir, 'good.acl');
      fs.writeFileSync(good, `${GOOD}\n`);
      expect(loadAclRules(good)).toEqual(parseAclRules(GOOD, 'x'));
      const bad = path.join(dir, 'bad.acl');
      fs.writeFileSync(bad, `# header\n${GOOD.replace('/16', '/40')}\n`);
      expect(() => loadAclRules(bad)).toThrow(new AclRuleError(bad, 2, 2, "prefix length 40 of '192.168.0.0/40' is above 32"));
      expect(() => loadAclRules(bad)).toThrow(`${bad}:2:2: prefix length 40 of '192.168.0.0/40' is above 32`);
      const missing = path.join(dir, 'missing.acl');
      expect(() => loadAclRules(missing)).toThrow(`${missing}: cannot read: ENOENT: no such file or directory, open '${missing}'`);
      try {
        loadAclRules(missing);
      } catch (e) {
        expect(e).toBeInstanceOf(AclRuleError);
        expect((e as AclRuleError).line).toBe(0);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Rules and packets for the properties: edges of the address space (int32 negatives), of prefix
// lengths, of ports and of protocol masks are drawn often.
const u32 = fc.oneof(fc.constantFrom(0, 0x7fffffff, 0x80000000, 0xffffffff, 0xc0a80000, 0x0a000001), fc.integer({ min: 0, max: 0xffffffff }));
const len = fc.oneof(fc.constantFrom(0, 1, 8, 16, 24, 31, 32), fc.integer({ min: 0, max: 32 }));
const port = fc.oneof(fc.constantFrom(0, 1, 1023, 1024, 32767, 32768, 65534, 65535), fc.integer({ min: 0, max: 65535 }));
const byte = fc.integer({ min: 0, max: 255 });
const ruleArb: fc.Arbitrary<AclRule> = fc
  .record({
    src: u32,
    srcLen: len,
    dst: u32,
    dstLen: len,
    sport: fc.tuple(port, port),
    dport: fc.tuple(port, port),
    protoValue: fc.oneof(fc.constantFrom(0, 1, 6, 17, 255), byte),
    protoMask: fc.oneof(fc.constantFrom(0, 0xff, 0x0f), byte),
    action: fc.constantFrom<'allow' | 'deny'>('allow', 'deny'),
  })
  .map((r) => aclRule(r.src, r.srcLen, r.dst, r.dstLen, [Math.min(...r.sport), Math.max(...r.sport)], [Math.min(...r.dport), Math.max(...r.dport)], r.protoValue, r.protoMask, r.action));

interface Packet {
  src: number;
  dst: number;
  ports: number;
  proto: number;
}

const i32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });

/** A packet at random, or one made from a rule: inside its prefixes (random host bits), at its port bounds or one past them, with its protocol or an edge one. */
function packetArb(rules: readonly AclRule[]): fc.Arbitrary<Packet> {
  const random = fc.record({ src: i32, dst: i32, ports: fc.oneof(fc.constant(0), i32), proto: fc.oneof(fc.constantFrom(-1, 0, 1, 6, 17, 255), i32) });
  if (rules.length === 0) return random;
  const derived = fc.record({ r: fc.nat(), hostS: i32, hostD: i32, sp: fc.nat(), dp: fc.nat(), pr: fc.nat(), x: i32 }).map(({ r, hostS, hostD, sp, dp, pr, x }): Packet => {
    const rule = rules[r % rules.length];
    const within = (lo: number, hi: number, k: number): number => [lo, hi, lo - 1, hi + 1, lo + (k % (hi - lo + 1))][k % 5] & 0xffff;
    return {
      src: rule.src | (hostS & ~prefixMask(rule.srcLen)),
      dst: rule.dst | (hostD & ~prefixMask(rule.dstLen)),
      ports: (within(rule.sportLo, rule.sportHi, sp) << 16) | within(rule.dportLo, rule.dportHi, dp),
      proto: [rule.protoValue | (x & ~rule.protoMask & 0xff), -1, 255, 0, x, rule.protoValue][pr % 6],
    };
  });
  return fc.oneof({ arbitrary: derived, weight: 3 }, { arbitrary: random, weight: 1 });
}

function ioOf(packets: readonly Packet[]): AclMatchIo {
  const n = packets.length;
  const io: AclMatchIo = { count: n, inputs: { src: new Int32Array(n), dst: new Int32Array(n), ports: new Int32Array(n), proto: new Int32Array(n) }, outputs: { rule: new Int32Array(n).fill(0x5a5a5a5a) } };
  packets.forEach((p, i) => {
    io.inputs.src[i] = p.src;
    io.inputs.dst[i] = p.dst;
    io.inputs.ports[i] = p.ports;
    io.inputs.proto[i] = p.proto;
  });
  return io;
}

function cpuOver(image: Uint32Array, io: AclMatchIo): Int32Array {
  const out = new Int32Array(io.count).fill(0x5a5a5a5a);
  aclMatchCpu(new Int32Array(image.buffer, image.byteOffset, image.length), { ...io, outputs: { rule: out } });
  return out;
}

function referenceOver(rules: readonly AclRule[], io: AclMatchIo): Int32Array {
  const out = new Int32Array(io.count).fill(0x5a5a5a5a);
  aclMatchReference(rules, { ...io, outputs: { rule: out } });
  return out;
}

describe('formatAclRule', () => {
  it('prints the file format', () => {
    const [r] = parseAclRules(GOOD, FILE);
    expect(formatAclRule(r)).toBe(GOOD);
    expect(formatAclRule(aclRule(ip('255.255.255.255'), 1, 0, 0, [0, 0], [65535, 65535], 0, 0, 'allow'))).toBe('@128.0.0.0/1 0.0.0.0/0 0 : 0 65535 : 65535 0x00/0x00 allow');
  });

  it('parses back to an equal rule (property, files of many rules)', () => {
    fc.assert(
      fc.property(fc.array(ruleArb, { maxLength: 30 }), fc.boolean(), (rules, crlf) => {
        const text = rules.map(formatAclRule).join(crlf ? '\r\n' : '\n');
        expect(parseAclRules(text, FILE)).toEqual(rules.map((r, i) => ({ ...r, line: i + 1 })));
      }),
      { numRuns: 300 },
    );
  });
});

describe('aclImage layout and kind acl-rules-v4', () => {
  const two = [aclRule(ip('192.168.0.0'), 16, ip('10.1.2.3'), 32, [1024, 65535], [80, 80], 6, 0xff, 'deny'), aclRule(0, 0, ip('224.0.0.0'), 4, [0, 0], [0, 65535], 0, 0, 'allow')];

  it('lays rules out word for word as the WGSL and the CPU form read them', () => {
    const image = aclImage(two);
    expect(Array.from(image)).toEqual([
      0x41434c34, 1, 2, 8, 0, 0, 0, 0,
      0xc0a80000, 0xffff0000, 0x0a010203, 0xffffffff, 0x0400ffff, 0x00500050, 0xff06, 1,
      0, 0, 0xe0000000, 0xf0000000, 0x00000000, 0x0000ffff, 0, 0,
    ]);
    expect([aclAction(image, 0), aclAction(image, 1)]).toEqual(['deny', 'allow']);
    expect(Array.from(aclImage([]))).toEqual([0x41434c34, 1, 0, 8, 0, 0, 0, 0]);
    expect(structureKind(ACL_RULES_V4).publishWords).toBe(ACL_HEADER_WORDS);
  });

  it('checkAclImage accepts images and refuses a short one, a bad magic, layout or rule size, a wrong length, with exact messages', () => {
    expect(checkAclImage(aclImage(two))).toBeNull();
    expect(checkAclImage(aclImage([]))).toBeNull();
    expect(checkAclImage(new Uint32Array(4))).toBe('4 words, fewer than the 8-word header');
    const badMagic = aclImage(two);
    badMagic[0] = 0xdeadbeef;
    expect(checkAclImage(badMagic)).toBe("magic 0xdeadbeef, expected 0x41434c34 ('ACL4')");
    const badLayout = aclImage(two);
    badLayout[1] = 2;
    expect(checkAclImage(badLayout)).toBe('layout 2, expected 1');
    const badRuleWords = aclImage(two);
    badRuleWords[3] = 9;
    expect(checkAclImage(badRuleWords)).toBe('9 words per rule, expected 8');
    expect(checkAclImage(aclImage(two).subarray(0, 20))).toBe('length 20 words, the header says 24 (2 rules x 8 words + header)');
    const longer = new Uint32Array(25);
    longer.set(aclImage(two));
    expect(checkAclImage(longer)).toBe('length 25 words, the header says 24 (2 rules x 8 words + header)');
    expect(() => checkImage('cpu', ACL_RULES_V4, badMagic)).toThrow(`cpu: not a acl-rules-v4 image (24 words): magic 0xdeadbeef, expected 0x41434c34 ('ACL4')`);
  });

  it('aclReplaceDelta writes the whole new image, header last, and applies over a longer or shorter one', () => {
    const small = aclImage(two);
    const big = aclImage([...two, ...two, ...two]);
    for (const [from, to] of [
      [small, big],
      [big, small],
      [big, aclImage([])],
    ]) {
      const d = aclReplaceDelta(to, 7);
      expect(d).toMatchObject({ kind: ACL_RULES_V4, fromGeneration: 7, toGeneration: 8, length: to.length });
      expect(d.writes.at(-1)).toEqual({ offset: 0, words: to.slice(0, ACL_HEADER_WORDS) });
      expect(checkAclDelta(d)).toBeNull();
      expect(Array.from(applyDeltaToImage(from.slice(), d).subarray(0, d.length))).toEqual(Array.from(to));
    }
  });

  it('checkAclDelta refuses a delta without the header, with a short header write, or whose header does not fit its length, with exact messages', () => {
    const good = aclReplaceDelta(aclImage(two), 3);
    expect(checkAclDelta({ ...good, writes: good.writes.filter((w) => w.offset !== 0) })).toBe('an ACL delta replaces the rule set and must write the header');
    expect(checkAclDelta({ ...good, writes: [good.writes[0], { offset: 0, words: aclImage(two).slice(0, 4) }] })).toBe('an ACL delta replaces the rule set and must write the header');
    expect(checkAclDelta({ ...good, length: 16 })).toBe('length 16 words, the header says 24 (2 rules x 8 words + header)');
    const header = aclImage(two).slice(0, ACL_HEADER_WORDS);
    header[0] = 0;
    expect(checkAclDelta({ ...good, writes: [good.writes[0], { offset: 0, words: header }] })).toBe("magic 0x0, expected 0x41434c34 ('ACL4')");
    const held = { backend: 'cpu', kind: ACL_RULES_V4, id: 7, generation: 3, words: 24 };
    expect(() => checkDelta(held, { ...good, writes: good.writes.slice(0, 1) })).toThrow('cpu: structure #7 (acl-rules-v4): delta 3->4 refused: an ACL delta replaces the rule set and must write the header');
    expect(() => checkDelta(held, aclReplaceDelta(aclImage(two), 2))).toThrow('cpu: structure #7 (acl-rules-v4): delta 2->3 does not apply at generation 3');
    expect(() => checkDelta(held, good)).not.toThrow();
  });
});

describe('acl-match on the host: the CPU form over the image is the reference over the rules', () => {
  it('first match wins; ports 0, protocol -1 and 255, top-bit addresses, no rules', () => {
    const rules = [
      aclRule(ip('10.0.0.0'), 8, 0, 0, [0, 0], [0, 0], 1, 0xff, 'allow'),
      aclRule(ip('192.168.0.0'), 16, ip('255.255.255.255'), 32, [0, 65535], [65535, 65535], 255, 0xff, 'deny'),
      aclRule(ip('10.1.0.0'), 16, 0, 0, [0, 65535], [0, 65535], 0, 0, 'deny'),
      aclRule(0, 0, 0, 0, [0, 65535], [0, 65535], 0, 0, 'allow'),
    ];
    const io = ioOf([
      { src: ip('10.1.2.3') | 0, dst: 5, ports: 0, proto: 1 }, // rule 0 (ports 0 match 0:0), not rule 2
      { src: ip('10.1.2.3') | 0, dst: 5, ports: 1, proto: 1 }, // dport 1 misses 0:0: rule 2
      { src: ip('192.168.7.7') | 0, dst: -1, ports: 0xffff, proto: -1 }, // proto -1 reads as 255 under mask 0xFF
      { src: ip('192.168.7.7') | 0, dst: -1, ports: 0xffff, proto: 255 },
      { src: ip('192.168.7.7') | 0, dst: -2, ports: 0xffff, proto: 255 }, // one address off: rule 3
      { src: ip('192.169.0.0') | 0, dst: -1, ports: 0xfffe, proto: 255 },
    ]);
    const want = [0, 2, 1, 1, 3, 3];
    expect(Array.from(referenceOver(rules, io))).toEqual(want);
    expect(Array.from(cpuOver(aclImage(rules), io))).toEqual(want);
    expect(Array.from(cpuOver(aclImage([]), io))).toEqual(want.map(() => NO_RULE));
    expect(Array.from(referenceOver([], io))).toEqual(want.map(() => NO_RULE));
    expect(ruleMatches(rules[1], ip('192.168.0.1'), ip('255.255.255.255'), 0xffff, 0x1ff)).toBe(true);
  });

  it('aclMatchCpu(aclImage(rules)) equals aclMatchReference(rules) on arbitrary rules and packets (property)', () => {
    let hits = 0;
    let total = 0;
    fc.assert(
      fc.property(
        fc.array(ruleArb, { maxLength: 40 }).chain((rules) => fc.tuple(fc.constant(rules), fc.array(packetArb(rules), { maxLength: 64 }))),
        ([rules, packets]) => {
          const io = ioOf(packets);
          const want = referenceOver(rules, io);
          expect(cpuOver(aclImage(rules), io)).toEqual(want);
          total += want.length;
          for (const w of want) if (w !== NO_RULE) hits++;
        },
      ),
      { numRuns: 500 },
    );
    // The property means something only if packets both hit and miss.
    expect(hits).toBeGreaterThan(total / 10);
    expect(total - hits).toBeGreaterThan(total / 10);
  });
});

// The kernel suite runs the null backend's form inline; its modelled device computes on a worker
// thread through the same table (backends/null/kernel-references.ts), which must know acl-match.
it("the null backend's modelled device (worker thread) runs acl-match and follows a delta", async () => {
  const backend = new NullBackend({ device: 'worker', costs: { perBatchNs: 0, perItemNs: 0, perByteTransferNs: 0 } });
  try {
    const first = [aclRule(ip('10.0.0.0'), 8, 0, 0, [0, 65535], [80, 80], 6, 0xff, 'deny'), aclRule(0, 0, 0, 0, [0, 65535], [0, 65535], 0, 0, 'allow')];
    const packets = fc.sample(packetArb([...first, ...edgeCaseAcl()]), { numRuns: 512, seed: 42 });
    const h = await backend.loadStructure(ACL_RULES_V4, aclImage(first), 1);
    for (const rules of [first, edgeCaseAcl()]) {
      if (rules !== first) await backend.applyDelta(h, aclReplaceDelta(aclImage(rules), h.generation));
      const io = ioOf(packets);
      await backend.runKernel(ACL_MATCH, io, [h]);
      expect(io.outputs.rule).toEqual(referenceOver(rules, io));
    }
    expect(Array.from(await backend.readStructure(h)).slice(0, h.words)).toEqual(Array.from(aclImage(edgeCaseAcl())));
    await backend.releaseStructure(h);
  } finally {
    await backend.dispose();
  }
});
