/**
 * Packet accounting: every element's books, so no packet leaves the graph uncounted.
 *
 * The runtime counts what crosses an element's boundary, per batch (a few integer adds, no
 * per-packet work): packets received on each input port, packets produced by a source
 * (`nextBatch`), packets emitted on each output port. The element counts what happens
 * inside it, by reason, through its ledger:
 *   dropped[reason]   packets lost (a bad header, no route, a full queue)
 *   consumed[reason]  packets that reached their end on purpose (Discard, ToDump without output)
 *   created[reason]   packets made that did not arrive (Tee's copies)
 * and reports `held`: packets it keeps at this moment (a Queue's backlog).
 *
 * The invariant, for every element whenever no batch is inside it (after a run, always):
 *   sum(in) + produced + sum(created) = sum(out) + sum(dropped) + sum(consumed) + held
 * A nonzero difference is a silent loss (or an invented packet) and a bug.
 *
 * The ledger is the run's books: monotonic, never reset. Click's `reset_counts` handlers
 * zero an element's own handler counters, not this.
 */

/** Reason-keyed packet counts. */
export type ReasonCounts = Record<string, number>;

export class Ledger {
  /** Packets received per input port (counted by the scheduler before `process`). */
  readonly in: Float64Array;
  /** Packets emitted per output port (counted by the scheduler after `process`/`flush`). */
  readonly out: Float64Array;
  /** Packets a source produced (counted by the scheduler from `nextBatch`). */
  produced = 0;
  readonly dropped: ReasonCounts = {};
  readonly consumed: ReasonCounts = {};
  readonly created: ReasonCounts = {};

  constructor(ninputs: number, noutputs: number) {
    this.in = new Float64Array(ninputs);
    this.out = new Float64Array(noutputs);
  }

  /** `packets` were lost for `reason` (a short name: 'no_route', 'bad_checksum', 'queue_full'). */
  drop(reason: string, packets: number): void {
    if (packets !== 0) this.dropped[reason] = (this.dropped[reason] ?? 0) + packets;
  }

  /** `packets` ended here on purpose (a sink: 'discarded', 'written'). */
  consume(reason: string, packets: number): void {
    if (packets !== 0) this.consumed[reason] = (this.consumed[reason] ?? 0) + packets;
  }

  /** `packets` were made here without arriving (Tee: 'copies'). */
  create(reason: string, packets: number): void {
    if (packets !== 0) this.created[reason] = (this.created[reason] ?? 0) + packets;
  }
}

/** One element's books at a moment: what `Router.accounting()` and the `accounting` handler report. */
export interface ElementAccounting {
  name: string;
  className: string;
  in: number[];
  produced: number;
  created: ReasonCounts;
  out: number[];
  dropped: ReasonCounts;
  consumed: ReasonCounts;
  held: number;
  /** Packets unaccounted for: left side minus right side of the invariant (0 when balanced). */
  unaccounted: number;
  balanced: boolean;
}

const sum = (xs: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s;
};

const sumValues = (r: ReasonCounts): number => sum(Object.values(r));

export function accountingOf(name: string, className: string, ledger: Ledger, held: number): ElementAccounting {
  const unaccounted = sum(ledger.in) + ledger.produced + sumValues(ledger.created) - sum(ledger.out) - sumValues(ledger.dropped) - sumValues(ledger.consumed) - held;
  return {
    name,
    className,
    in: Array.from(ledger.in),
    produced: ledger.produced,
    created: { ...ledger.created },
    out: Array.from(ledger.out),
    dropped: { ...ledger.dropped },
    consumed: { ...ledger.consumed },
    held,
    unaccounted,
    balanced: unaccounted === 0,
  };
}

/** The `accounting` handler's text: one `key value...` line per figure, reasons as `reason=n`. */
export function formatAccounting(a: ElementAccounting): string {
  const reasons = (r: ReasonCounts): string =>
    Object.entries(r)
      .map(([k, v]) => ` ${k}=${v}`)
      .join('');
  return [
    `in ${a.in.join(' ') || '-'}`,
    ...(a.produced > 0 ? [`produced ${a.produced}`] : []),
    ...(Object.keys(a.created).length > 0 ? [`created${reasons(a.created)}`] : []),
    `out ${a.out.join(' ') || '-'}`,
    `dropped${reasons(a.dropped) || ' -'}`,
    `consumed${reasons(a.consumed) || ' -'}`,
    `held ${a.held}`,
    a.balanced ? 'balanced yes' : `balanced no (${a.unaccounted} unaccounted)`,
  ]
    .map((l) => `${l}\n`)
    .join('');
}
