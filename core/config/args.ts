/**
 * Configuration arguments as the config language hands them to an element class, and the
 * zod-based helper every element uses to turn them into a typed config with located errors.
 */
import { z } from 'zod';
import { ConfigError, type SourceLocation } from './source-location.js';
import { quoteUserText } from '../quote-user-text.js';

export interface ConfigArg {
  /** The argument text as written (trimmed), quotes kept. */
  raw: string;
  /** Click keyword (`FILE` in `FILE x.pcap`) when the class declares it. */
  keyword?: string;
  /** The value after the keyword, quotes removed where the whole value was one quoted string. */
  value: string;
  loc: SourceLocation;
}

export interface ConfigArgs {
  /** Where the element's class name stands (errors about the whole argument list point here). */
  loc: SourceLocation;
  list: ConfigArg[];
}

export interface ArgSpec<T> {
  /** Names given to positional arguments, in order (a keyword may also be given positionally). */
  positional?: readonly string[];
  /** Name that collects every remaining positional argument as a string array (Classifier patterns, routes). */
  rest?: string;
  /** Keywords the element accepts; others are an error. */
  keywords?: readonly string[];
  schema: z.ZodType<T>;
}

const KEYWORD = /^([A-Z][A-Z0-9_]*)(?:\s+([\s\S]*))?$/;

/** Split a raw argument into keyword and value when `keywords` declares the keyword. */
export function splitKeyword(raw: string, keywords: readonly string[]): { keyword?: string; value: string } {
  const m = KEYWORD.exec(raw);
  if (m && keywords.includes(m[1])) return { keyword: m[1], value: unquote((m[2] ?? '').trim()) };
  return { value: unquote(raw) };
}

export function unquote(s: string): string {
  if (s.length >= 2 && s[0] === '"' && s[s.length - 1] === '"') {
    return s.slice(1, -1).replace(/\\(["\\nt])/g, (_m, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
  }
  return s;
}

/** Parse `args` against `spec`; errors name the argument's file:line:column. */
export function parseArgs<T>(args: ConfigArgs, spec: ArgSpec<T>): T {
  const keywords = spec.keywords ?? [];
  const positional = spec.positional ?? [];
  const obj: Record<string, unknown> = {};
  const where: Record<string, SourceLocation> = {};
  const rest: string[] = [];
  let p = 0;
  for (const a of args.list) {
    const { keyword, value } = a.keyword !== undefined ? { keyword: a.keyword, value: a.value } : splitKeyword(a.raw, keywords);
    if (keyword !== undefined) {
      if (keyword in obj) throw new ConfigError(a.loc, `keyword ${keyword} given twice`);
      obj[keyword] = value;
      where[keyword] = a.loc;
    } else if (p < positional.length) {
      const name = positional[p++];
      if (name in obj) throw new ConfigError(a.loc, `${name} given both by position and by keyword`);
      obj[name] = value;
      where[name] = a.loc;
    } else if (spec.rest !== undefined) {
      rest.push(value);
      where[`${spec.rest}.${rest.length - 1}`] = a.loc;
    } else {
      const expected = [...positional, ...keywords.filter((k) => !positional.includes(k)).map((k) => `${k} value`)];
      throw new ConfigError(a.loc, `unexpected argument ${quoteUserText(a.raw)}${expected.length ? `; expected ${expected.join(', ')}` : '; this element takes no arguments'}`);
    }
  }
  if (spec.rest !== undefined) obj[spec.rest] = rest;
  const r = spec.schema.safeParse(obj);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const key = issue.path.map(String).join('.');
  const loc = where[key] ?? where[String(issue.path[0])] ?? args.loc;
  const label = key === '' ? 'arguments' : key;
  throw new ConfigError(loc, `bad ${label}: ${issue.message}`);
}

/**
 * Where argument `name` was written (given by keyword, or positionally as `spec.positional`
 * names it), for errors found after parsing; the element's place when it was not written.
 */
export function argLocation(args: ConfigArgs, name: string, spec: { positional?: readonly string[]; keywords?: readonly string[] }): SourceLocation {
  const positional = spec.positional ?? [];
  let p = 0;
  for (const a of args.list) {
    const keyword = a.keyword ?? splitKeyword(a.raw, spec.keywords ?? []).keyword;
    if (keyword === name) return a.loc;
    if (keyword === undefined && positional[p++] === name) return a.loc;
  }
  return args.loc;
}

/** zod pieces for the argument types Click configurations use. */
export const arg = {
  int: (min = -(2 ** 53), max = 2 ** 53) => z.coerce.number().int().min(min).max(max),
  bool: () =>
    z
      .string()
      .transform((s, ctx) => {
        const v = s.toLowerCase();
        if (['true', 'yes', '1', 'on'].includes(v)) return true;
        if (['false', 'no', '0', 'off'].includes(v)) return false;
        ctx.addIssue({ code: 'custom', message: `expected true or false, got ${quoteUserText(s)}` });
        return z.NEVER;
      }),
  string: () => z.string(),
};
