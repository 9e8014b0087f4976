/** Split an element's raw argument text at top-level commas, keeping each argument's location. */
import type { ConfigArg } from './args.js';
import type { SourceLocation } from './source-location.js';

export function splitArgs(text: string, start: SourceLocation): ConfigArg[] {
  const out: ConfigArg[] = [];
  let line = start.line;
  let col = start.column;
  let depth = 0;
  let cur = '';
  let curLoc: SourceLocation | null = null;
  const flush = (): void => {
    const raw = cur.trim();
    out.push({ raw, value: raw, loc: curLoc ?? { file: start.file, line, column: col } });
    cur = '';
    curLoc = null;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '/' && text[i + 1] === '/') {
      // a comment inside an argument list: skip to the end of the line
      while (i < text.length && text[i] !== '\n') i++;
      i--;
      continue;
    }
    if (c === '"') {
      if (curLoc === null) curLoc = { file: start.file, line, column: col };
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const s = text.slice(i, j + 1);
      cur += s;
      for (const ch of s) {
        if (ch === '\n') {
          line++;
          col = 1;
        } else col++;
      }
      i = j;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    if (c === ')' || c === ']' || c === '}') depth--;
    if (c === ',' && depth === 0) {
      flush();
      col++;
      continue;
    }
    if (curLoc === null && !/\s/.test(c)) curLoc = { file: start.file, line, column: col };
    cur += c;
    if (c === '\n') {
      line++;
      col = 1;
    } else col++;
  }
  flush();
  // `X()` and `X( )` take no arguments; a trailing empty argument after a comma is kept so it errors.
  if (out.length === 1 && out[0].raw === '') return [];
  return out;
}
