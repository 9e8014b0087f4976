/**
 * ACL: each packet's first matching rule decides (allow: output 0; deny: output 1, or dropped
 * and counted); DEFAULT decides the rest and packets without an IPv4 header. Checked on real
 * captures against the rules' logical definition (aclMatchReference) over fields parsed here
 * independently, on built packets for the edges (fragments, ICMP, short and non-IPv4 packets,
 * rule order), through a Router for the packet accounting, for reloads (a batch keeps the rules
 * it started with) and on the offload backends (the same outputs as the inline cpu form).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ACL } from '../../elements/acl.js';
import { elementLibrary } from '../../elements/index.js';
import { Router } from '../../core/router.js';
import { ElementInputError } from '../../core/element-input-error.js';
import { HandlerError } from '../../core/handlers.js';
import { aclMatchReference } from '../../core/kernels/acl-match/index.js';
import { ACL_HEADER_WORDS, ACL_RULE_WORDS } from '../../core/structures/acl/acl-image.js';
import { loadAclRules, type AclRule } from '../../core/structures/acl/acl-rules.js';
import { backendAvailability, disposeBackends, getBackend } from '../../core/backend-registry.js';
import { requireOrWarn } from '../backends/availability.js';
import { expectBalanced } from '../support/accounting.js';
import { DATA, batchOf, ids, ipv4Packet, make, readPcap, testEnv } from './helpers.js';

const FIREWALL = path.resolve(import.meta.dirname, '../../examples/data/firewall.rules');
const EXAMPLE = path.join(DATA, 'pcaps/pcapplusplus/example.pcap');
const FRAGMENTS = path.join(DATA, 'pcaps/pcapplusplus/ip4_fragments.pcap');
const frames = readPcap(EXAMPLE).packets;
const quiet = { info: (): void => undefined, warn: (): void => undefined };

afterAll(() => disposeBackends());

const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-acl-'));
let files = 0;
/** A rule file in a temporary directory, its absolute path. */
function rulesFile(...lines: string[]): string {
  const f = path.join(dir, `r${files++}.rules`);
  writeFileSync(f, lines.map((l) => `${l}\n`).join(''));
  return f;
}

/** The fields the ACL matches, parsed from an IPv4 header at `at` without the element's code; null when there is none. */
function fields(pkt: Uint8Array, at: number): { src: number; dst: number; ports: number; proto: number } | null {
  const ip = pkt.subarray(at);
  if (ip.length < 20 || ip[0] >> 4 !== 4) return null;
  const be32 = (o: number): number => ((ip[o] << 24) | (ip[o + 1] << 16) | (ip[o + 2] << 8) | ip[o + 3]) | 0;
  const ihl = (ip[0] & 15) * 4;
  const fragOffset = ((ip[6] & 0x1f) << 8) | ip[7];
  const proto = ip[9];
  const ports = (proto === 6 || proto === 17) && fragOffset === 0 && ip.length >= ihl + 4 ? be32(ihl) : 0;
  return { src: be32(12), dst: be32(16), ports, proto };
}

/** Each packet's first matching rule by the rules' definition: index, -1 for none, null without an IPv4 header. */
function expectedRules(rules: readonly AclRule[], pkts: readonly Uint8Array[], at: number): (number | null)[] {
  return pkts.map((p) => {
    const f = fields(p, at);
    if (f === null) return null;
    const io = { count: 1, inputs: { src: Int32Array.of(f.src), dst: Int32Array.of(f.dst), ports: Int32Array.of(f.ports), proto: Int32Array.of(f.proto) }, outputs: { rule: new Int32Array(1) } };
    aclMatchReference(rules, io);
    return io.outputs.rule[0];
  });
}

/** Packet indices by the action the rules (and `deflt`) give them. */
function expectedActions(rules: readonly AclRule[], want: (number | null)[], deflt: 'allow' | 'deny'): { allow: number[]; deny: number[] } {
  const allow: number[] = [];
  const deny: number[] = [];
  want.forEach((r, i) => ((r === null || r < 0 ? deflt : rules[r].action) === 'allow' ? allow : deny).push(i));
  return { allow, deny };
}

async function read(el: ACL, handler: string): Promise<string> {
  return el.handlers()[handler].read!();
}

/** A TCP or UDP packet with ports, or another protocol with these bytes where ports would be. */
function packet(src: number[], dst: number[], proto: number, sport: number, dport: number, opts: { fragOffset?: number; moreFragments?: boolean; payload?: number } = {}): Uint8Array {
  const p = ipv4Packet({ src, dst, proto, payload: opts.payload ?? 8 });
  p[6] = (opts.moreFragments === true ? 0x20 : 0) | (((opts.fragOffset ?? 0) >> 8) & 0x1f);
  p[7] = (opts.fragOffset ?? 0) & 0xff;
  if (p.length >= 24) p.set([sport >> 8, sport & 255, dport >> 8, dport & 255], 20);
  return p;
}

describe('ACL on a real capture', () => {
  const rules = loadAclRules(FIREWALL);
  const want = expectedRules(rules, frames, 14);

  it('classifies every packet by its first matching rule; two outputs: allow on 0, deny on 1', async () => {
    const el = make(ACL, [FIREWALL, 'OFFSET 14', 'DEFAULT deny'], 2);
    const [allowed, denied] = await el.process(batchOf(frames));
    const exp = expectedActions(rules, want, 'deny');
    expect(ids(allowed)).toEqual(exp.allow);
    expect(ids(denied)).toEqual(exp.deny);
    const unmatched = want.filter((r) => r === -1).length;
    // The capture reaches every kind of decision: allowed and denied by rules, and by DEFAULT.
    expect(exp.deny.length).toBeGreaterThan(unmatched);
    expect(unmatched).toBeGreaterThan(0);
    expect(await read(el, 'count')).toBe(String(frames.length));
    expect(await read(el, 'allowed')).toBe(String(exp.allow.length));
    expect(await read(el, 'denied')).toBe(String(exp.deny.length));
    expect(await read(el, 'unmatched')).toBe(String(unmatched));
    expect(await read(el, 'not_ipv4')).toBe('0');
    expect(await read(el, 'drops')).toBe('0');
    // hits: one line per rule that matched (index, line in the file, packets), then the unmatched.
    const perRule = new Map<number, number>();
    for (const r of want) if (r !== null && r >= 0) perRule.set(r, (perRule.get(r) ?? 0) + 1);
    const lines = [...perRule.entries()].sort((a, b) => a[0] - b[0]).map(([r, n]) => `${r} ${rules[r].line} ${n}\n`);
    expect(await read(el, 'hits')).toBe(`${lines.join('')}default ${unmatched}\n`);
    expect(el.summary()).toMatchObject({ count: frames.length, unmatched, rules: rules.length });
  });

  it('one output: denied packets are dropped and counted; the books balance through a Router', async () => {
    const exp = expectedActions(rules, want, 'deny');
    for (const outputs of [1, 2]) {
      const second = outputs === 2 ? 'acl[1] -> no :: Discard;' : '';
      const r = Router.fromText(
        `FromDump(FILE "${EXAMPLE}", STOP true) -> Strip(14) -> acl :: ACL(RULES "${FIREWALL}", DEFAULT deny) -> yes :: Discard; ${second}`,
        path.join(dir, 'acct.click'),
        elementLibrary,
        { log: quiet, batchSize: 64 },
      );
      await r.initialize();
      try {
        await r.run();
        expectBalanced(r);
        const acl = r.graph.byName.get('acl')!.element;
        expect(Array.from(acl.ledger.out)).toEqual(outputs === 2 ? [exp.allow.length, exp.deny.length] : [exp.allow.length]);
        expect(acl.ledger.dropped).toEqual(outputs === 2 ? {} : { denied: exp.deny.length });
        expect(await r.handler('acl.drops').read!()).toBe(outputs === 2 ? '0' : String(exp.deny.length));
        expect(await r.handler('acl.denied').read!()).toBe(String(exp.deny.length));
      } finally {
        await r.cleanup();
      }
    }
  });

  for (const backend of ['webgpu', 'null'] as const) {
    it(`BACKEND ${backend}: the same outputs and counts as the inline cpu form`, async () => {
      if (!requireOrWarn(backend, await backendAvailability(backend))) return;
      const env = { ...testEnv(), strictBackends: true, backend: getBackend };
      const el = make(ACL, [FIREWALL, 'OFFSET 14', `BACKEND ${backend}`, 'DEFAULT deny'], 2, env);
      await el.initialize();
      const ref = make(ACL, [FIREWALL, 'OFFSET 14', 'DEFAULT deny'], 2);
      try {
        // Several batches in flight at once (IN_FLIGHT 3), each with its own columns.
        const chunks = [0, 1, 2, 3].map((k) => frames.slice(k * 1200, (k + 1) * 1200));
        const got = await Promise.all(chunks.map((c, k) => el.process(batchOf(c, { seq: k, firstId: k * 1200 }))));
        const exp = await Promise.all(chunks.map((c, k) => ref.process(batchOf(c, { seq: k, firstId: k * 1200 }))));
        expect(got.map((o) => o.map(ids))).toEqual(exp.map((o) => o.map(ids)));
        for (const h of ['count', 'allowed', 'denied', 'unmatched', 'not_ipv4', 'hits']) expect(await read(el, h), h).toBe(await read(ref, h));
        expect(el.summary().backend).toBe(backend);
        expect(await read(el, 'kernel_stats')).toMatch(new RegExp(`^acl-match ${backend} batches 4 items ${frames.length} host_ms [0-9.]+`));
        expect(await read(ref, 'kernel_stats')).toMatch(new RegExp(`^acl-match cpu batches 4 items ${frames.length} host_ms [0-9.]+\\n$`));
        expect(await read(ref, 'backend')).toBe('cpu (inline)');
      } finally {
        await el.cleanup();
      }
    });
  }
});

describe('ACL decisions', () => {
  const A = [10, 1, 2, 3];
  const B = [192, 0, 2, 7];

  it('DEFAULT decides unmatched packets and packets without an IPv4 header, which a catch-all rule does not see', async () => {
    // Only a catch-all deny: a not-IPv4 packet (matched against zeros by the kernel) must still take DEFAULT.
    const f = rulesFile('@10.0.0.0/8 0.0.0.0/0 0 : 65535 0 : 65535 0x00/0x00 deny', '@0.0.0.0/0 0.0.0.0/0 0 : 65535 0 : 65535 0x00/0x00 allow');
    const ipv6 = new Uint8Array(40);
    ipv6[0] = 0x60;
    const pkts = [packet(A, B, 6, 1234, 80), packet(B, A, 6, 80, 1234), ipv6, new Uint8Array(12), packet(B, A, 17, 53, 999)];
    for (const deflt of ['allow', 'deny'] as const) {
      const only = rulesFile('@10.0.0.0/8 0.0.0.0/0 0 : 65535 0 : 65535 0x00/0x00 deny');
      const el = make(ACL, [only, `DEFAULT ${deflt}`], 2);
      const [yes, no] = await el.process(batchOf(pkts));
      // Packet 0 matches the deny rule; 1 and 4 match nothing; 2 and 3 are not IPv4.
      expect(ids(yes)).toEqual(deflt === 'allow' ? [1, 2, 3, 4] : []);
      expect(ids(no)).toEqual(deflt === 'allow' ? [0] : [0, 1, 2, 3, 4]);
      expect([await read(el, 'unmatched'), await read(el, 'not_ipv4'), await read(el, 'count')]).toEqual(['2', '2', '5']);
      expect(await read(el, 'hits')).toBe('0 1 1\ndefault 2\n');
    }
    const el = make(ACL, [f, 'DEFAULT deny'], 2);
    const [yes, no] = await el.process(batchOf(pkts));
    expect(ids(yes)).toEqual([1, 4]);
    expect(ids(no)).toEqual([0, 2, 3]);
    expect(await read(el, 'hits')).toBe('0 1 1\n1 2 2\ndefault 0\n');
  });

  it('one output: denied packets are dropped and counted under `denied`, allowed ones pass in order', async () => {
    const f = rulesFile('# block one host', '@192.0.2.7/32 0.0.0.0/0 0 : 65535 0 : 65535 0x00/0x00');
    const el = make(ACL, [f], 1);
    const pkts = [packet(A, B, 6, 1, 2), packet(B, A, 6, 2, 1), packet(A, B, 17, 3, 4), packet(B, A, 1, 0, 0)];
    const out = await el.process(batchOf(pkts));
    expect(out.length).toBe(1);
    expect(ids(out[0])).toEqual([0, 2]);
    expect(el.ledger.dropped).toEqual({ denied: 2 });
    expect([await read(el, 'drops'), await read(el, 'denied'), await read(el, 'allowed')]).toEqual(['2', '2', '2']);
  });

  it('the first matching rule wins, in file order', async () => {
    const web = '@10.0.0.0/8 0.0.0.0/0 0 : 65535 80 : 80 0x06/0xFF allow';
    const all = '@10.0.0.0/8 0.0.0.0/0 0 : 65535 0 : 65535 0x00/0x00 deny';
    const pkts = [packet(A, B, 6, 40000, 80), packet(A, B, 17, 40000, 80), packet(A, B, 6, 40000, 443)];
    const a = make(ACL, [rulesFile(web, all)], 2);
    const [yesA, noA] = await a.process(batchOf(pkts));
    expect([ids(yesA), ids(noA)]).toEqual([[0], [1, 2]]);
    expect(await read(a, 'hits')).toBe('0 1 1\n1 2 2\ndefault 0\n');
    const b = make(ACL, [rulesFile(all, web)], 2);
    const [yesB, noB] = await b.process(batchOf(pkts));
    expect([ids(yesB), ids(noB)]).toEqual([[], [0, 1, 2]]);
    expect(await read(b, 'hits')).toBe('0 1 3\ndefault 0\n');
  });

  it('later fragments and ICMP carry ports 0; the protocol is the real one; first fragments carry their ports', async () => {
    const f = rulesFile(
      '@0.0.0.0/0 0.0.0.0/0 0 : 0 0 : 0 0x01/0xFF allow', // ICMP, ports 0 (whatever its bytes there)
      '@0.0.0.0/0 0.0.0.0/0 1234 : 1234 80 : 80 0x06/0xFF allow', // TCP with its ports
      '@0.0.0.0/0 0.0.0.0/0 0 : 0 0 : 0 0x06/0xFF allow', // TCP without ports
      '@0.0.0.0/0 0.0.0.0/0 0 : 65535 0 : 65535 0x2F/0xFF allow', // GRE
    );
    const el = make(ACL, [f, 'DEFAULT deny'], 2);
    const pkts = [
      packet(A, B, 1, 1234, 80), // ICMP: bytes 20..23 look like ports, but ICMP has none
      packet(A, B, 6, 1234, 80, { moreFragments: true }), // first fragment: ports
      packet(A, B, 6, 1234, 80, { fragOffset: 100, moreFragments: true }), // later fragment: none
      packet(A, B, 6, 1234, 80, { fragOffset: 200 }), // last fragment: none
      packet(A, B, 6, 0, 0, { payload: 2 }), // too short for ports
      packet(A, B, 47, 1234, 80), // GRE: proto 47 as is
      packet(A, B, 17, 1234, 80, { fragOffset: 100 }), // UDP later fragment: ports 0, no rule
    ];
    const [yes, no] = await el.process(batchOf(pkts));
    expect([ids(yes), ids(no)]).toEqual([[0, 1, 2, 3, 4, 5], [6]]);
    expect(await read(el, 'hits')).toBe('0 1 1\n1 2 1\n2 3 3\n3 4 1\ndefault 1\n');
  });

  it('real fragments (ip4_fragments.pcap): first fragments match on their ports, later ones on ports 0', async () => {
    const frags = readPcap(FRAGMENTS).packets;
    const f = rulesFile('@0.0.0.0/0 0.0.0.0/0 0 : 65535 2049 : 2049 0x11/0xFF allow', '@0.0.0.0/0 0.0.0.0/0 0 : 0 0 : 0 0x11/0xFF deny');
    const rules = loadAclRules(f);
    const want = expectedRules(rules, frags, 14);
    // First fragments (MF, offset 0) are NFS calls to port 2049; later ones have no ports; the rest are whole replies.
    const kind = (p: Uint8Array): string => (((p[14 + 6] & 0x1f) | p[14 + 7]) !== 0 ? 'later' : (p[14 + 6] & 0x20) !== 0 ? 'first' : 'whole');
    const byKind = (k: string): (number | null)[] => want.filter((_r, i) => kind(frags[i]) === k);
    expect(byKind('first').length).toBeGreaterThan(0);
    expect(byKind('later').length).toBeGreaterThan(0);
    expect(new Set(byKind('first'))).toEqual(new Set([0]));
    expect(new Set(byKind('later'))).toEqual(new Set([1]));
    expect(new Set(byKind('whole'))).toEqual(new Set([-1]));
    const el = make(ACL, [f, 'OFFSET 14'], 2);
    const [yes, no] = await el.process(batchOf(frags));
    const exp = expectedActions(rules, want, 'allow');
    expect([ids(yes), ids(no)]).toEqual([exp.allow, exp.deny]);
  });
});

describe('ACL rules and reload', () => {
  const A = [10, 1, 2, 3];
  const B = [192, 0, 2, 7];
  const pkts = [packet(A, B, 6, 1234, 80), packet(B, A, 6, 80, 1234), packet(A, B, 17, 1234, 53)];
  const denyWeb = '@0.0.0.0/0 0.0.0.0/0 0 : 65535 80 : 80 0x06/0xFF deny';
  const denyDns = '@10.0.0.0/8 0.0.0.0/0 0 : 65535 53 : 53 0x11/0xFF deny';

  it('rules reads back the rule set in the file format; structureImage is its image', () => {
    const el = make(ACL, [rulesFile('# web', '', denyWeb, '@10.1.0.0/16 0.0.0.0/0 0 : 65535 0 : 65535 0x00/0x00 allow')]);
    expect(el.handlers().rules.read!()).toBe(`${denyWeb}\n@10.1.0.0/16 0.0.0.0/0 0 : 65535 0 : 65535 0x00/0x00 allow\n`);
    expect(el.structureImage('acl')!.length).toBe(ACL_HEADER_WORDS + 2 * ACL_RULE_WORDS);
    expect(el.structureImage('fib')).toBeUndefined();
  });

  it('reload: new rules for the next batch, hits start over; empty reloads the configured file', async () => {
    const f = rulesFile(denyWeb);
    const el = make(ACL, [f], 2);
    const [, no1] = await el.process(batchOf(pkts));
    expect(ids(no1)).toEqual([0]);
    expect(await read(el, 'hits')).toBe('0 1 1\ndefault 2\n');
    const g = rulesFile('# dns only', denyDns);
    await el.handlers().reload.write!(g);
    expect(await read(el, 'hits')).toBe('default 0\n');
    expect(await read(el, 'rules')).toBe(`${denyDns}\n`);
    const [, no2] = await el.process(batchOf(pkts));
    expect(ids(no2)).toEqual([2]);
    expect(await read(el, 'hits')).toBe('0 2 1\ndefault 2\n');
    // Counters are the element's, not the rule set's: they carry on.
    expect([await read(el, 'count'), await read(el, 'denied')]).toEqual(['6', '2']);
    // An empty write reads RULES again (edited meanwhile).
    writeFileSync(f, `${denyDns}\n${denyWeb}\n`);
    await el.handlers().reload.write!('  ');
    const [, no3] = await el.process(batchOf(pkts));
    expect(ids(no3)).toEqual([0, 2]);
    expect(await read(el, 'hits')).toBe('0 1 1\n1 2 1\ndefault 1\n');
  });

  it('reload of a bad file is refused with its file:line:column, and the old rules stay', async () => {
    const el = make(ACL, [rulesFile(denyWeb)], 2);
    await el.process(batchOf(pkts));
    const bad = rulesFile('# ok so far', denyDns, '@10.0.0.0/8 0.0.0.0/0 0 : 65535 53 : 53 0x11/0xFF maybe');
    const write = el.handlers().reload.write!;
    expect(() => write(bad)).toThrow(HandlerError);
    expect(() => write(bad)).toThrow(`${bad}:3:51: expected the action allow or deny, got 'maybe'`);
    expect(() => write(path.join(dir, 'nope.rules'))).toThrow(/nope\.rules: cannot read/);
    expect(await read(el, 'rules')).toBe(`${denyWeb}\n`);
    expect(await read(el, 'hits')).toBe('0 1 1\ndefault 2\n');
    const [, no] = await el.process(batchOf(pkts));
    expect(ids(no)).toEqual([0]);
  });

  it('BACKEND null: a batch on the device keeps the rules it started with; the next one gets the reload', async () => {
    if (!requireOrWarn('null', await backendAvailability('null'))) return;
    const env = { ...testEnv(), strictBackends: true, backend: getBackend };
    const el = make(ACL, [rulesFile(denyWeb), 'BACKEND null'], 2, env);
    await el.initialize();
    try {
      const first = el.process(batchOf(pkts, { seq: 0 }));
      await el.handlers().reload.write!(rulesFile(denyDns));
      const second = el.process(batchOf(pkts, { seq: 1 }));
      const [, no1] = await first;
      const [, no2] = await second;
      expect(ids(no1)).toEqual([0]);
      expect(ids(no2)).toEqual([2]);
      // Hits count for the rules now loaded: the batch that ran the old ones does not add to them.
      expect(await read(el, 'hits')).toBe('0 1 1\ndefault 2\n');
      expect(el.summary()).toMatchObject({ backend: 'null', denied: 2 });
    } finally {
      await el.cleanup();
    }
  });
});

describe('ACL state (take_state)', () => {
  it('hands over the rules as reloaded, their hits and the counters; refuses another configuration', async () => {
    const pkts = frames.slice(0, 500);
    const a = make(ACL, [FIREWALL, 'OFFSET 14'], 2);
    await a.handlers().reload.write!(rulesFile('@0.0.0.0/0 0.0.0.0/0 0 : 65535 80 : 80 0x06/0xFF deny'));
    await a.process(batchOf(pkts));
    const b = make(ACL, [FIREWALL, 'OFFSET 14'], 2);
    b.importState(a.exportState());
    for (const h of ['rules', 'hits', 'count', 'denied', 'unmatched']) expect(await read(b, h), h).toBe(await read(a, h));
    const next = frames.slice(500, 1000);
    const [ya, na] = await a.process(batchOf(next));
    const [yb, nb] = await b.process(batchOf(next));
    expect([ids(yb), ids(nb)]).toEqual([ids(ya), ids(na)]);
    expect(b.structureImage('acl')).toEqual(a.structureImage('acl'));
    expect(() => make(ACL, [FIREWALL, 'OFFSET 14', 'DEFAULT deny'], 2).importState(a.exportState())).toThrow(/cannot take state: configuration differs/);
  });
});

describe('ACL configuration errors', () => {
  it('a missing rules file names the element and the file', () => {
    const missing = path.join(dir, 'missing.rules');
    expect(() => make(ACL, [missing])).toThrow(ElementInputError);
    expect(() => make(ACL, [missing])).toThrow(`t_ACL: ${missing}: cannot read`);
    const cfg = path.join(dir, 'fw.click');
    expect(() => Router.fromText('Idle -> fw :: ACL(RULES missing.rules) -> Discard;', cfg, elementLibrary, { log: quiet })).toThrow(/fw\.click:1:\d+: 'fw' \(ACL\): .*missing\.rules: cannot read/);
  });

  it('a bad rule names file:line:column; RULES is relative to the configuration directory', () => {
    const bad = rulesFile('@10.0.0.0/8 0.0.0.0/0 0 : 65535 80 : 80 0x06/0xFF allow', '@10.0.0.0/33 0.0.0.0/0 0 : 65535 80 : 80 0x06/0xFF allow');
    expect(() => make(ACL, [bad])).toThrow(`t_ACL: ${bad}:2:2: prefix length 33 of '10.0.0.0/33' is above 32`);
    const good = rulesFile('@10.0.0.0/8 0.0.0.0/0 0 : 65535 80 : 80 0x06/0xFF allow');
    const r = Router.fromText(`Idle -> fw :: ACL(${path.basename(good)}) -> Discard;`, path.join(dir, 'fw.click'), elementLibrary, { log: quiet });
    expect(r.graph.byName.get('fw')!.element.summary()).toMatchObject({ rules: 1 });
  });

  it('DEFAULT takes allow or deny only', () => {
    expect(() => make(ACL, [FIREWALL, 'DEFAULT drop'])).toThrow(/bad DEFAULT/);
  });
});
