/**
 * Small builders for element handlers: a read-only counter, and a write handler whose value
 * is validated with zod so a bad write is a clear HandlerError, never a thrown zod error.
 */
import type { z } from 'zod';
import { HandlerError, type Handler } from '../../core/handlers.js';
import { quoteUserText } from '../../core/quote-user-text.js';

/** A read-only handler printing a number in decimal (Click prints counts this way). */
export function counterHandler(read: () => number, doc: string): Handler {
  return { read: () => String(read()), doc };
}

/** Parse a handler write with `schema`; the error names the handler and the bad value. */
export function parseHandlerValue<T>(handler: string, schema: z.ZodType<T>, value: string): T {
  const r = schema.safeParse(value.trim());
  if (r.success) return r.data;
  throw new HandlerError(`${handler}: bad value ${quoteUserText(value)}: ${r.error.issues[0].message}`);
}

/** A write-only handler that takes no meaningful value (`reset`, `reset_counts`). */
export function actionHandler(run: () => void, doc: string): Handler {
  return { write: () => run(), doc };
}
