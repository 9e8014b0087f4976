import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CheckIPHeader } from '../../elements/check-ip-header.js';
import { Classifier } from '../../elements/classifier.js';
import { Counter } from '../../elements/counter.js';
import { DecIPTTL } from '../../elements/dec-ip-ttl.js';
import { Discard } from '../../elements/discard.js';
import { EtherEncap } from '../../elements/ether-encap.js';
import { Paint } from '../../elements/paint.js';
import { Print } from '../../elements/print.js';
import { Queue } from '../../elements/queue.js';
import { Strip } from '../../elements/strip.js';
import { Tee } from '../../elements/tee.js';
import { Unstrip } from '../../elements/unstrip.js';
import { FlowHash } from '../../elements/flow-hash.js';
import { Idle } from '../../elements/idle.js';
import { IPLookup } from '../../elements/ip-lookup.js';
import { elementClasses } from '../../elements/index.js';
import { FlowIPManager } from '../../elements/flow-ip-manager.js';
import { IPReassembler } from '../../elements/ip-reassembler.js';
import { IPRewriter } from '../../elements/ip-rewriter.js';
import { FlowIPLoadBalancer } from '../../elements/flow-ip-load-balancer.js';
import { ACL } from '../../elements/acl.js';
import { make, type AnyElementClass } from './helpers.js';

const classes: [AnyElementClass, string, string[]][] = [
  [CheckIPHeader, 'check-ip-header', []],
  [Classifier, 'classifier', ['-']],
  [Counter, 'counter', []],
  [DecIPTTL, 'dec-ip-ttl', []],
  [Discard, 'discard', []],
  [EtherEncap, 'ether-encap', ['0x0800', '0:0:0:0:0:1', '0:0:0:0:0:2']],
  [Paint, 'paint', ['1']],
  [Print, 'print', []],
  [Queue, 'queue', []],
  [Strip, 'strip', ['14']],
  [Tee, 'tee', []],
  [Unstrip, 'unstrip', ['14']],
  [FlowHash, 'flow-hash', []],
  [Idle, 'idle', []],
  [IPLookup, 'ip-lookup', ['10.0.0.0/8 0']],
  [FlowIPManager, 'flow-ip-manager', []],
  [IPReassembler, 'ip-reassembler', []],
  [IPRewriter, 'ip-rewriter', ['drop']],
  [FlowIPLoadBalancer, 'flow-ip-load-balancer', ['10.0.0.1', '10.1.0.1']],
  [ACL, 'acl', [path.resolve(import.meta.dirname, '../../examples/data/firewall.rules')]],
];

describe('element manual pages', () => {
  it.each(classes)('%s opens its file with its manual and carries it as static manual', (cls, file, raw) => {
    const src = readFileSync(path.resolve(import.meta.dirname, `../../elements/${file}.ts`), 'utf8');
    expect(src.startsWith(`/**\n * ${cls.className}`)).toBe(true);
    expect(cls.manual.startsWith(cls.className)).toBe(true);
    expect(cls.manual).toMatch(/Ports:/);
    // Every handler the manual names exists, and every handler is in the manual.
    const el = make(cls, raw, 1);
    for (const h of Object.keys(el.handlers())) expect(cls.manual, `${cls.className}.${h}`).toContain(h.replace(/\d+$/, ''));
  });
});

/** The manual as the file's header comment carries it (` * ` prefixes removed). */
function headerText(src: string): string {
  const end = src.indexOf('\n */\n');
  return src
    .slice(4, end)
    .split('\n')
    .map((l) => (l === ' *' ? '' : l.replace(/^ \* /, '')))
    .join('\n');
}

/** Argument names the signature shows (the manual before its first blank line); `NAME...` and `NAME_1, ..., NAME_N` are a rest list. */
function signatureNames(manual: string): string[] {
  const sig = manual.split('\n\n')[0].split('\n').filter((l) => !/^(Aliases|Ports):/.test(l)).join(' ');
  const open = sig.indexOf('(');
  const inner = open < 0 ? '' : sig.slice(open + 1, sig.lastIndexOf(')'));
  const names = new Set<string>();
  for (const m of inner.matchAll(/\b([A-Z][A-Z0-9_]*)(\.\.\.)?/g)) {
    const rest = m[2] !== undefined || /_(1|N)$/.test(m[1]);
    names.add(rest ? `${m[1].replace(/_(1|N)$/, '')}S` : m[1]);
  }
  return [...names].sort();
}

/** Keys of an element's zod object schema (through refinements, which zod 4 keeps on the object, and transforms: a pipe's input). */
function schemaKeys(schema: unknown): string[] {
  const s = schema as { shape?: Record<string, unknown>; in?: unknown };
  if (s.shape === undefined && s.in !== undefined) return schemaKeys(s.in);
  const shape = s.shape;
  if (shape === undefined) throw new Error('schema is not a zod object');
  return Object.keys(shape).sort();
}

describe('manual pages have one source and name every argument', () => {
  const files = readdirSync(path.resolve(import.meta.dirname, '../../elements')).filter((f) => f.endsWith('.ts') && f !== 'index.ts');

  it('every element file is in the library', () => {
    expect(files.length).toBe(elementClasses.length);
  });

  it.each(files)('%s opens with exactly its static manual', (file) => {
    const src = readFileSync(path.resolve(import.meta.dirname, `../../elements/${file}`), 'utf8');
    const name = /export class (\w+) extends/.exec(src)?.[1];
    const cls = elementClasses.find((c) => c.className === name);
    expect(cls, file).toBeDefined();
    // The static manual is the source; the header must be it, word for word, so the two cannot drift.
    expect(headerText(src), `${file}: header comment differs from ${name}.manual; make it ' * ' + each line of the manual`).toBe(cls!.manual);
  });

  it.each(elementClasses.map((c) => [c.className, c] as const))('%s: signature names exactly the schema keys, and the schema the keywords', (_name, cls) => {
    const args = cls.args;
    expect(args, `${cls.className} declares static args`).toBeDefined();
    const keys = schemaKeys(args!.schema);
    expect(signatureNames(cls.manual), `${cls.className}: signature vs zod schema`).toEqual(keys);
    const accepted = new Set([...(args!.positional ?? []), ...(args!.keywords ?? []), ...(args!.rest === undefined ? [] : [args!.rest])]);
    expect([...accepted].sort(), `${cls.className}: positional + keywords + rest vs zod schema`).toEqual(keys);
  });

  it('the signature check catches a keyword left out', () => {
    expect(signatureNames('IPLookup(ROUTE..., keywords FIB, FIBS)\nAliases: X\n\nPorts: 1')).toEqual(['FIB', 'FIBS', 'ROUTES']);
    expect(signatureNames('Classifier(PATTERN_1, ..., PATTERN_N)\n\nPorts: 1')).toEqual(['PATTERNS']);
    expect(signatureNames('Discard\n\nPorts: 1 input')).toEqual([]);
  });
});
