/**
 * The next-hop table: image leaves store a small index, this table says what it means.
 * Route files give gateways (and sometimes an opaque label such as an AS number), Click routes
 * give `GW OUT`, DPDK l3fwd gives a port. Identical next hops share one index (interned).
 */
import { MAX_NEXT_HOP } from './image-format.js';
import { formatIPv4 } from '../../routes/ipv4.js';

export interface NextHop {
  /** Gateway address (u32); absent for directly connected routes. */
  gateway?: number;
  /** Output port (Click's OUT, l3fwd's port). */
  port?: number;
  /** Opaque label (egress AS, synthetic next-hop name). */
  label?: string;
}

export function nextHopKey(h: NextHop): string {
  return `${h.gateway ?? ''}|${h.port ?? ''}|${h.label ?? ''}`;
}

/** Human form: `GW`, `GW OUT`, `OUT`, `label`, or `-` when the next hop carries nothing. */
export function formatNextHop(h: NextHop): string {
  const parts: string[] = [];
  if (h.gateway !== undefined) parts.push(formatIPv4(h.gateway));
  if (h.port !== undefined) parts.push(String(h.port));
  if (h.label !== undefined) parts.push(h.label);
  return parts.length ? parts.join(' ') : '-';
}

export class NextHopTable {
  private readonly list: NextHop[] = [];
  private readonly byKey = new Map<string, number>();
  /** Output port per index (-1 when the next hop names none), kept as a column for the element's hot loop. */
  ports = new Int32Array(16);

  intern(h: NextHop): number {
    const key = nextHopKey(h);
    const found = this.byKey.get(key);
    if (found !== undefined) return found;
    const i = this.list.length;
    if (i > MAX_NEXT_HOP) throw new Error(`next-hop table is full (${MAX_NEXT_HOP + 1} entries)`);
    this.list.push(Object.freeze({ ...h }));
    this.byKey.set(key, i);
    if (i >= this.ports.length) {
      const p = new Int32Array(this.ports.length * 2);
      p.set(this.ports);
      this.ports = p;
    }
    this.ports[i] = h.port ?? -1;
    return i;
  }

  get(i: number): NextHop {
    const h = this.list[i];
    if (h === undefined) throw new RangeError(`no next hop ${i}`);
    return h;
  }

  get size(): number {
    return this.list.length;
  }
}
