/**
 * Click's route syntax, as RadixIPLookup and friends take it in configurations and handlers:
 * `ADDR/LEN [GW] OUT` or `ADDR/MASK [GW] OUT` ("18.26/16" abbreviates 18.26.0.0/16; host
 * bits are masked). For `remove`, GW and OUT may be left out; when given they must match.
 */
import { formatIPv4, formatPrefix, parseAddress, parsePrefix } from './ipv4.js';
import { quoteUserText } from '../quote-user-text.js';

export interface ClickRoute {
  prefix: number;
  len: number;
  gateway?: number;
  port?: number;
}

/** Parse one route; returns an error message string when the text is not a route. */
export function parseClickRoute(text: string, forRemove = false): ClickRoute | string {
  const words = text.trim().split(/\s+/).filter((w) => w.length > 0);
  if (words.length === 0) return 'empty route';
  if (words.length > 3) return `too many words in route ${quoteUserText(text.trim())} (expected ADDR/LEN [GW] OUT)`;
  const p = parsePrefix(words[0]);
  if (typeof p === 'string') return p;
  const r: ClickRoute = { prefix: p.prefix, len: p.len };
  let rest = words.slice(1);
  if (rest.length === 2 || (rest.length === 1 && rest[0].includes('.'))) {
    const g = rest[0];
    if (g !== '-') {
      const gw = parseAddress(g);
      if (gw === null) return `bad gateway '${g}'`;
      if (gw !== 0) r.gateway = gw;
    }
    rest = rest.slice(1);
  }
  if (rest.length === 1) {
    if (!/^-?\d+$/.test(rest[0])) return `bad output port '${rest[0]}'`;
    const port = Number(rest[0]);
    if (port < -1 || port > 65535) return `output port ${port} out of range`;
    r.port = port;
  } else if (!forRemove) return `missing output port in route ${quoteUserText(text.trim())}`;
  return r;
}

/** Click's unparse without tabs: `ADDR/LEN GW OUT`, with `-` for no gateway. */
export function formatClickRoute(prefix: number, len: number, gateway: number | undefined, port: number | undefined): string {
  return `${formatPrefix(prefix, len)} ${gateway === undefined ? '-' : formatIPv4(gateway)} ${port ?? -1}`;
}

/** Split a handler value holding several routes (commas or newlines), dropping empties and `#` comments. */
export function splitRoutes(value: string): string[] {
  return value
    .split(/[,\n]/)
    .map((s) => s.replace(/#.*$/, '').trim())
    .filter((s) => s.length > 0);
}
