/**
 * Tokens of Click's configuration language. Argument lists are kept as raw text (split at
 * top-level commas later), because each element class interprets its own arguments.
 */
import { ConfigError, type SourceLocation } from './source-location.js';
import { quoteUserText } from '../quote-user-text.js';

export type TokenKind = 'ident' | 'number' | '::' | '->' | '[' | ']' | ',' | ';' | 'args' | 'eof';

export interface Token {
  kind: TokenKind;
  text: string;
  loc: SourceLocation;
  /** For 'args': the raw text between the parentheses and where it starts. */
  argsStart?: SourceLocation;
}

const OPENER: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

const IDENT_START = /[A-Za-z_@]/;
const IDENT_PART = /[A-Za-z0-9_@./]/;

export function tokenize(text: string, file: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let col = 1;
  const here = (): SourceLocation => ({ file, line, column: col });
  const advance = (n: number): void => {
    for (let k = 0; k < n; k++) {
      if (text[i] === '\n') {
        line++;
        col = 1;
      } else col++;
      i++;
    }
  };
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      advance(1);
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') advance(1);
    } else if (c === '#' && (col === 1 || /^\s*$/.test(text.slice(text.lastIndexOf('\n', i - 1) + 1, i)))) {
      while (i < text.length && text[i] !== '\n') advance(1);
    } else if (c === '/' && text[i + 1] === '*') {
      const start = here();
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new ConfigError(start, 'unterminated comment: expected */');
      advance(end + 2 - i);
    } else if (c === '-' && text[i + 1] === '>') {
      tokens.push({ kind: '->', text: '->', loc: here() });
      advance(2);
    } else if (c === ':' && text[i + 1] === ':') {
      tokens.push({ kind: '::', text: '::', loc: here() });
      advance(2);
    } else if (c === '[' || c === ']' || c === ',' || c === ';') {
      tokens.push({ kind: c, text: c, loc: here() });
      advance(1);
    } else if (c === '(') {
      const loc = here();
      advance(1);
      const argsStart = here();
      const startIndex = i;
      // The closers still expected, innermost last: `Queue(5]` is an error, not `Queue(5)`.
      const open: { close: string; loc: SourceLocation }[] = [{ close: ')', loc }];
      let depth = 1;
      while (i < text.length && depth > 0) {
        const d = text[i];
        if (d === '"') {
          advance(1);
          while (i < text.length && text[i] !== '"') advance(text[i] === '\\' ? 2 : 1);
          if (i >= text.length) throw new ConfigError(loc, 'unterminated string in arguments: expected "');
          advance(1);
          continue;
        }
        if (d === '/' && text[i + 1] === '/') {
          while (i < text.length && text[i] !== '\n') advance(1);
          continue;
        }
        if (d === '(' || d === '[' || d === '{') {
          open.push({ close: d === '(' ? ')' : d === '[' ? ']' : '}', loc: here() });
          depth++;
        } else if (d === ')' || d === ']' || d === '}') {
          const want = open[open.length - 1];
          if (d !== want.close) {
            const opened = want.loc === loc ? 'the argument list' : `'${OPENER[want.close]}' at line ${want.loc.line}, column ${want.loc.column}`;
            throw new ConfigError(here(), `mismatched '${d}': expected '${want.close}' to close ${opened}`);
          }
          open.pop();
          depth--;
        }
        if (depth > 0) advance(1);
      }
      if (depth > 0) {
        const want = open[open.length - 1];
        throw new ConfigError(want.loc, `unbalanced parentheses: expected '${want.close}'`);
      }
      tokens.push({ kind: 'args', text: text.slice(startIndex, i), loc, argsStart });
      advance(1);
    } else if (IDENT_START.test(c)) {
      const loc = here();
      let j = i + 1;
      while (j < text.length && IDENT_PART.test(text[j]) && !(text[j] === '/' && (text[j + 1] === '/' || text[j + 1] === '*'))) j++;
      tokens.push({ kind: 'ident', text: text.slice(i, j), loc });
      advance(j - i);
    } else if (c >= '0' && c <= '9') {
      const loc = here();
      let j = i + 1;
      while (j < text.length && text[j] >= '0' && text[j] <= '9') j++;
      tokens.push({ kind: 'number', text: text.slice(i, j), loc });
      advance(j - i);
    } else {
      throw new ConfigError(here(), `unexpected character ${quoteUserText(c)}: expected an element, '->', '::' or ';'`);
    }
  }
  tokens.push({ kind: 'eof', text: '', loc: here() });
  return tokens;
}
