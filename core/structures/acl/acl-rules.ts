/**
 * An IPv4 access-control list: rules in priority order, the first that matches a packet decides
 * (iptables' and DPDK rte_acl's "first match" with priorities as positions). The logical form
 * the ACL element holds; `aclImage` (acl-image.ts) flattens it for the acl-match kernel on
 * every backend.
 *
 * Text format: ClassBench's filter format, as DPDK's test-acl and l3fwd-acl read it, one rule a
 * line, with an optional action after it:
 *
 *     @SRC/LEN DST/LEN SPORT_LO : SPORT_HI DPORT_LO : DPORT_HI PROTO/MASK [FLAGS/MASK] [allow|deny]
 *     @192.168.0.0/16 10.1.2.3/32 0 : 65535 80 : 80 0x06/0xFF deny
 *
 * The action defaults to `deny`, as l3fwd-acl drops what its `@` rules match. ClassBench's TCP
 * flags field is accepted only as a wildcard (`0x0000/0x0000`); matching flags is not supported
 * and says so. `#` starts a comment; blank lines are skipped. Host bits beyond a prefix's length
 * are masked off, as ClassBench generators emit them.
 */
import { readFileSync } from 'node:fs';

export type AclAction = 'allow' | 'deny';

export interface AclRule {
  /** Prefixes as unsigned 32-bit values with host bits cleared, and their lengths 0..32. */
  src: number;
  srcLen: number;
  dst: number;
  dstLen: number;
  /** Inclusive port ranges 0..65535. */
  sportLo: number;
  sportHi: number;
  dportLo: number;
  dportHi: number;
  /** The protocol matches when (proto & protoMask) === protoValue; mask 0 is any protocol. */
  protoValue: number;
  protoMask: number;
  action: AclAction;
  /** The rule's line in its file (0 for rules made in code). */
  line: number;
}

/** A rule file that cannot be read: file:line:column and what is wrong there. */
export class AclRuleError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly detail: string,
  ) {
    super(line > 0 ? `${file}:${line}:${column}: ${detail}` : `${file}: ${detail}`);
    this.name = 'AclRuleError';
  }
}

/** Rules the image can hold at most (a linear first-match scan is meant for hundreds to thousands). */
export const MAX_ACL_RULES = 65536;

/** `len` high bits set. */
export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** Whether `rule` matches the packet's fields (addresses unsigned or int32 bit patterns; ports = sport << 16 | dport). */
export function ruleMatches(rule: AclRule, src: number, dst: number, ports: number, proto: number): boolean {
  const sport = (ports >>> 16) & 0xffff;
  const dport = ports & 0xffff;
  return (
    ((src & prefixMask(rule.srcLen)) >>> 0) === rule.src &&
    ((dst & prefixMask(rule.dstLen)) >>> 0) === rule.dst &&
    sport >= rule.sportLo &&
    sport <= rule.sportHi &&
    dport >= rule.dportLo &&
    dport <= rule.dportHi &&
    (proto & rule.protoMask) === rule.protoValue
  );
}

interface Token {
  text: string;
  column: number;
}

function tokens(line: string): Token[] {
  const out: Token[] = [];
  const re = /\S+/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) out.push({ text: m[0], column: m.index + 1 });
  return out;
}

function parseAddress(t: Token, fail: (col: number, m: string) => never): { addr: number; len: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(t.text);
  if (m === null) return fail(t.column, `expected an IPv4 prefix ADDR/LEN, got '${t.text}'`);
  const octets = m.slice(1, 5).map(Number);
  const bad = octets.findIndex((o) => o > 255);
  if (bad >= 0) return fail(t.column, `octet ${octets[bad]} of '${t.text}' is above 255`);
  const len = Number(m[5]);
  if (len > 32) return fail(t.column, `prefix length ${len} of '${t.text}' is above 32`);
  const addr = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  return { addr: (addr & prefixMask(len)) >>> 0, len };
}

function parsePort(t: Token | undefined, what: string, at: number, fail: (col: number, m: string) => never): number {
  if (t === undefined) return fail(at, `missing ${what}`);
  if (!/^\d{1,5}$/.test(t.text) || Number(t.text) > 65535) return fail(t.column, `${what} '${t.text}' is not a port 0..65535`);
  return Number(t.text);
}

function parseMasked(t: Token, what: string, max: number, fail: (col: number, m: string) => never): { value: number; mask: number } {
  const m = /^(0x[0-9a-fA-F]+|\d+)\/(0x[0-9a-fA-F]+|\d+)$/.exec(t.text);
  if (m === null) return fail(t.column, `expected ${what} VALUE/MASK (e.g. 0x06/0xFF), got '${t.text}'`);
  const value = Number(m[1]);
  const mask = Number(m[2]);
  if (value > max || mask > max) return fail(t.column, `${what} '${t.text}' is above ${max}`);
  return { value: value & mask, mask };
}

/** Parse rule text (`file` names it in errors); throws AclRuleError at the first bad rule. */
export function parseAclRules(text: string, file: string): AclRule[] {
  const rules: AclRule[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1;
    const raw = lines[n].replace(/\r$/, '');
    const hash = raw.indexOf('#');
    const line = hash >= 0 ? raw.slice(0, hash) : raw;
    const ts = tokens(line);
    if (ts.length === 0) continue;
    const fail = (column: number, detail: string): never => {
      throw new AclRuleError(file, lineNo, column, detail);
    };
    if (!ts[0].text.startsWith('@')) fail(ts[0].column, `a rule starts with '@' (ClassBench format: @SRC/LEN DST/LEN SPORT : SPORT DPORT : DPORT PROTO/MASK [allow|deny]), got '${ts[0].text}'`);
    const first: Token = { text: ts[0].text.slice(1), column: ts[0].column + 1 };
    if (first.text === '') fail(first.column, "expected a source prefix right after '@'");
    const src = parseAddress(first, fail);
    if (ts[1] === undefined) fail(line.length + 1, 'missing destination prefix');
    const dst = parseAddress(ts[1], fail);
    const end = line.length + 1;
    const sportLo = parsePort(ts[2], 'source port low', end, fail);
    if (ts[3]?.text !== ':') fail(ts[3]?.column ?? end, `expected ':' between the source ports, got '${ts[3]?.text ?? 'end of line'}'`);
    const sportHi = parsePort(ts[4], 'source port high', end, fail);
    const dportLo = parsePort(ts[5], 'destination port low', end, fail);
    if (ts[6]?.text !== ':') fail(ts[6]?.column ?? end, `expected ':' between the destination ports, got '${ts[6]?.text ?? 'end of line'}'`);
    const dportHi = parsePort(ts[7], 'destination port high', end, fail);
    if (sportLo > sportHi) fail(ts[2].column, `source port range ${sportLo} : ${sportHi} is empty`);
    if (dportLo > dportHi) fail(ts[5].column, `destination port range ${dportLo} : ${dportHi} is empty`);
    if (ts[8] === undefined) fail(end, 'missing protocol PROTO/MASK');
    const proto = parseMasked(ts[8], 'protocol', 0xff, fail);
    let k = 9;
    if (ts[k] !== undefined && ts[k].text.includes('/')) {
      const flags = parseMasked(ts[k], 'TCP flags', 0xffff, fail);
      if (flags.mask !== 0) fail(ts[k].column, `matching TCP flags ('${ts[k].text}') is not supported; use 0x0000/0x0000`);
      k++;
    }
    let action: AclAction = 'deny';
    if (ts[k] !== undefined) {
      const a = ts[k].text.toLowerCase();
      if (a !== 'allow' && a !== 'deny') fail(ts[k].column, `expected the action allow or deny, got '${ts[k].text}'`);
      action = a as AclAction;
      k++;
    }
    if (ts[k] !== undefined) fail(ts[k].column, `unexpected '${ts[k].text}' after the rule`);
    if (rules.length >= MAX_ACL_RULES) fail(1, `more than ${MAX_ACL_RULES} rules`);
    rules.push({ src: src.addr, srcLen: src.len, dst: dst.addr, dstLen: dst.len, sportLo, sportHi, dportLo, dportHi, protoValue: proto.value, protoMask: proto.mask, action, line: lineNo });
  }
  return rules;
}

/** Read and parse a rule file; an unreadable file is an AclRuleError naming it. */
export function loadAclRules(file: string): AclRule[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new AclRuleError(file, 0, 0, `cannot read: ${(e as Error).message}`);
  }
  return parseAclRules(text, file);
}

function dotted(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

function hex(v: number, digits: number): string {
  return `0x${v.toString(16).toUpperCase().padStart(digits, '0')}`;
}

/** One rule in the file format (what the element's `rules` handler prints; parses back to the same rule). */
export function formatAclRule(r: AclRule): string {
  return `@${dotted(r.src)}/${r.srcLen} ${dotted(r.dst)}/${r.dstLen} ${r.sportLo} : ${r.sportHi} ${r.dportLo} : ${r.dportHi} ${hex(r.protoValue, 2)}/${hex(r.protoMask, 2)} ${r.action}`;
}
