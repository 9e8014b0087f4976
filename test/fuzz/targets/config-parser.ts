/**
 * Fuzz target: the Click language parser and graph build (`Router.fromText`: tokenize, parse,
 * resolve classes, validate arguments with each element's zod schema, check ports and cycles).
 * Inputs are random token soup and mutations of the example configurations. The only allowed
 * failure is a located ConfigError (file:line:column within the text); anything else thrown is
 * a crash.
 */
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router } from '../../../core/router.js';
import { ConfigError } from '../../../core/config/source-location.js';
import { elementLibrary } from '../../../elements/index.js';
import type { FuzzTarget } from '../fuzz-target.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The project's root, found from here whether this runs as test/fuzz/targets/*.ts or compiled under dist/. */
const PROJECT = readdirSync(ROOT).includes('examples') ? ROOT : path.resolve(ROOT, '..', '..');
const EXAMPLES_DIR = path.join(PROJECT, 'examples');
/** Where the configurations "live": relative FIB files resolve against the examples. */
const FILE = path.join(EXAMPLES_DIR, 'fuzz.click');

const examples = readdirSync(EXAMPLES_DIR)
  .filter((f) => f.endsWith('.click'))
  .map((f) => readFileSync(path.join(EXAMPLES_DIR, f), 'utf8'));

const classNames = elementLibrary.names();
const quiet = { info: () => undefined, warn: () => undefined };

/** Pieces a configuration is made of, valid and not. */
const token = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...classNames) },
  { weight: 3, arbitrary: fc.constantFrom('->', '::', ';', ',', '[', ']', '(', ')', '[0]', '[1]', '[2]', ' ', '\n', '\t', '{', '}', '"', '\\', '//', '/*', '*/', '#', '@', '.') },
  { weight: 2, arbitrary: fc.constantFrom('a', 'b', 'c', 'rt', 'src', 'q', 'x.y', '_', '@1', 'Class@1') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('5', '-3', '0', '65536', '99999999999999999999', '1e9', '12/0800', '-', '10.0.0.0/8 0', 'FILE', 'FIB', 'STOP true', 'CAPACITY', 'routes.txt', '/dev/null', 'FORMAT click', 'BACKEND cpu', 'ANNO vrf', 'true', 'NaN'),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
);

const soup = fc.array(token, { maxLength: 60 }).map((ts) => ts.join(' '));

/** A structured statement: `name :: Class(args) -> Class(args) ...`. */
const statement = fc
  .tuple(
    fc.array(fc.tuple(fc.option(fc.constantFrom('a', 'b', 'c', 'q', 'rt')), fc.constantFrom(...classNames), fc.option(fc.array(token, { maxLength: 6 }))), { minLength: 1, maxLength: 5 }),
    fc.constantFrom('->', '[1] -> ', ' -> [1]', ','),
  )
  .map(([els, arrow]) => els.map(([n, c, a]) => `${n !== null ? `${n} :: ` : ''}${c}${a !== null ? `(${a.join(', ')})` : ''}`).join(` ${arrow} `) + ';');
const structured = fc.array(statement, { minLength: 1, maxLength: 6 }).map((s) => s.join('\n'));

type Edit = { at: number; del: number; insert: string };
const edit: fc.Arbitrary<Edit> = fc.record({ at: fc.nat(), del: fc.nat({ max: 12 }), insert: fc.oneof(token, fc.constant('')) });
/** An example with a few edits: a character range deleted and/or a token inserted. */
const mutated = fc.tuple(fc.nat({ max: examples.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 6 })).map(([i, edits]) => {
  let t = examples[i];
  for (const e of edits) {
    const at = e.at % (t.length + 1);
    t = t.slice(0, at) + e.insert + t.slice(at + e.del);
  }
  return t;
});

export const target: FuzzTarget<string> = {
  name: 'config-parser',
  arbitrary: fc.oneof({ weight: 3, arbitrary: mutated }, { weight: 2, arbitrary: structured }, { weight: 2, arbitrary: soup }, { weight: 1, arbitrary: fc.string({ maxLength: 200 }) }),
  check(text: string): void {
    try {
      Router.fromText(text, FILE, elementLibrary, { log: quiet });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      // Located: a real place in this text, and a message that does not echo it unbounded.
      const lines = text.split('\n').length;
      if (e.loc.file !== FILE || e.loc.line < 1 || e.loc.line > lines + 1 || e.loc.column < 1) {
        throw new Error(`ConfigError at an impossible place ${e.loc.line}:${e.loc.column} (${lines} lines): ${e.message}`);
      }
      if (e.message.length > FILE.length + 600) throw new Error(`ConfigError message of ${e.message.length} characters`);
    }
  },
};
