/** Ethernet addresses and EtherType text, as Click configurations write them. */
import { z } from 'zod';
import { quoteUserText } from '../quote-user-text.js';

const MAC = /^([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})$/;

/** Parse `00:1b:21:3a:4f:5c` (or with `-`) into 6 bytes, or null. */
export function parseEtherAddress(text: string): Uint8Array | null {
  const m = MAC.exec(text.trim());
  if (m === null) return null;
  const out = new Uint8Array(6);
  for (let k = 0; k < 6; k++) out[k] = parseInt(m[k + 1], 16);
  return out;
}

export function formatEtherAddress(a: Uint8Array): string {
  return [...a].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export const etherAddressSchema = z.string().transform((s, ctx) => {
  const v = parseEtherAddress(s);
  if (v === null) {
    ctx.addIssue({ code: 'custom', message: `expected an Ethernet address like 00:1b:21:3a:4f:5c, got ${quoteUserText(s)}` });
    return z.NEVER;
  }
  return v;
});

/** zod: an EtherType as hex (`0x0800`) or decimal, 0..0xffff. */
export const etherTypeSchema = z.string().transform((s, ctx) => {
  const t = s.trim();
  const v = /^0[xX][0-9a-fA-F]{1,4}$/.test(t) ? parseInt(t.slice(2), 16) : /^\d{1,5}$/.test(t) ? Number(t) : NaN;
  if (!(v >= 0 && v <= 0xffff)) {
    ctx.addIssue({ code: 'custom', message: `expected an EtherType like 0x0800, got ${quoteUserText(s)}` });
    return z.NEVER;
  }
  return v;
});
