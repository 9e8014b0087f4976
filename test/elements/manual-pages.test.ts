import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
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
import { FlowIPManager } from '../../elements/flow-ip-manager.js';
import { IPReassembler } from '../../elements/ip-reassembler.js';
import { IPRewriter } from '../../elements/ip-rewriter.js';
import { FlowIPLoadBalancer } from '../../elements/flow-ip-load-balancer.js';
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
