/**
 * The accounting invariant as one test assertion, for every test that runs a Router (or reads
 * a `hetbox run --json` summary): every element's books balance, and after a run nothing is
 * held. Given a Router, every connection is checked as well: what an element emitted on a port
 * is what the element downstream received on that input, so a loss between elements (in the
 * scheduler) fails too.
 */
import { assert } from 'vitest';
import type { ElementAccounting } from '../../core/accounting.js';
import { Router, type RunSummary } from '../../core/router.js';

/** Lines describing what does not add up; empty when everything balances. */
export function accountingProblems(source: Router | Pick<RunSummary, 'accounting'>): string[] {
  const books = source instanceof Router ? source.accounting() : source.accounting;
  const problems: string[] = [];
  if (!Array.isArray(books) || books.length === 0) return ['no accounting in this summary'];
  for (const a of books) {
    if (!a.balanced || a.unaccounted !== 0) problems.push(`${a.name} (${a.className}): ${a.unaccounted} packets unaccounted: ${describe(a)}`);
    if (a.held !== 0) problems.push(`${a.name} (${a.className}): still holds ${a.held} packets after the run`);
  }
  if (source instanceof Router) problems.push(...connectionProblems(source));
  return problems;
}

/** Assert the invariant for every element (and connection, given a Router) after a run. */
export function expectBalanced(source: Router | Pick<RunSummary, 'accounting'>): void {
  const problems = accountingProblems(source);
  if (problems.length > 0) assert.fail(`packet accounting (in + produced + created = out + dropped + consumed + held) does not add up:\n  ${problems.join('\n  ')}`);
}

function connectionProblems(router: Router): string[] {
  const { nodes } = router.graph;
  const fed = nodes.map((n) => new Float64Array(n.element.ninputs));
  for (const n of nodes) n.outputs.forEach((o, p) => (fed[o.node][o.port] += n.element.ledger.out[p]));
  const problems: string[] = [];
  nodes.forEach((n, i) => {
    fed[i].forEach((sent, port) => {
      const got = n.element.ledger.in[port];
      if (sent !== got) problems.push(`${n.parsed.name} input ${port}: upstream emitted ${sent}, it received ${got}`);
    });
  });
  return problems;
}

function describe(a: ElementAccounting): string {
  const r = (x: Record<string, number>): string => JSON.stringify(x);
  return `in ${JSON.stringify(a.in)} produced ${a.produced} created ${r(a.created)} out ${JSON.stringify(a.out)} dropped ${r(a.dropped)} consumed ${r(a.consumed)} held ${a.held}`;
}
