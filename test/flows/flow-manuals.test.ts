import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FlowIPManager } from '../../elements/flow-ip-manager.js';
import { IPReassembler } from '../../elements/ip-reassembler.js';
import { IPRewriter } from '../../elements/ip-rewriter.js';
import { FlowIPLoadBalancer } from '../../elements/flow-ip-load-balancer.js';
import type { AnyElementClass } from '../elements/helpers.js';

const classes: [AnyElementClass, string][] = [
  [FlowIPManager, 'flow-ip-manager'],
  [IPReassembler, 'ip-reassembler'],
  [IPRewriter, 'ip-rewriter'],
  [FlowIPLoadBalancer, 'flow-ip-load-balancer'],
];

describe('flow element manual pages', () => {
  it.each(classes)('%s: the manual opens the file and names every keyword of its schema', (cls, file) => {
    const src = readFileSync(path.resolve(import.meta.dirname, `../../elements/${file}.ts`), 'utf8');
    expect(src.startsWith(`/**\n * ${cls.className}`)).toBe(true);
    const m = /keywords: \[([^\]]*)\]/.exec(src);
    expect(m).not.toBeNull();
    const keywords = [...m![1].matchAll(/'([A-Z_0-9]+)'/g)].map((k) => k[1]);
    expect(keywords.length).toBeGreaterThan(0);
    for (const k of keywords) {
      expect(cls.manual, `${cls.className} ${k}`).toMatch(new RegExp(`\\b${k}\\b`));
      expect(src.slice(0, src.indexOf('*/')), `${cls.className} ${k} in the file's manual`).toMatch(new RegExp(`\\b${k}\\b`));
    }
  });
});
