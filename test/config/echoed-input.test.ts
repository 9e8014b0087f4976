/**
 * Rough edges of bad input: mismatched brackets in an argument list are located errors, user
 * text echoed in an error is cut short, and a failed route remove names the route as written.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/parse.js';
import { ConfigError } from '../../core/config/source-location.js';
import { Router } from '../../core/router.js';
import { quoteUserText } from '../../core/quote-user-text.js';
import { elementLibrary } from '../../elements/index.js';

const log = { info: () => undefined, warn: () => undefined };

function configError(text: string): ConfigError {
  try {
    Router.fromText(text, 'x.click', elementLibrary, { log });
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('accepted');
}

describe('bad configurations', () => {
  it('a mismatched bracket in an argument list is an error at the bracket', () => {
    expect(() => parseConfig('Idle -> Queue(5] -> Discard;', 'x.click')).toThrow("x.click:1:16: mismatched ']': expected ')' to close the argument list");
    expect(() => parseConfig('Idle -> Classifier(12/0800 [1) -> Discard;', 'x.click')).toThrow("x.click:1:30: mismatched ')': expected ']' to close '[' at line 1, column 28");
    expect(() => parseConfig('Idle -> Queue((5) -> Discard;', 'x.click')).toThrow("x.click:1:14: unbalanced parentheses: expected ')'");
    // Balanced nesting and brackets inside strings are still fine.
    expect(parseConfig('Idle -> Print("a]b(", MAXLENGTH 3) -> Discard;', 'x.click').elements).toHaveLength(3);
  });

  it('a 5 MB unknown class or element name is echoed as a short prefix', () => {
    const huge = `Zz${'q'.repeat(5 << 20)}`;
    const e = configError(`Idle -> ${huge} -> Discard;`);
    expect(e.message.length).toBeLessThan(300);
    expect(e.message).toContain(`unknown element class 'Zz${'q'.repeat(78)}...' (${huge.length} characters)`);
    const u = configError(`Idle -> ${huge.toLowerCase()} -> Discard;`);
    expect(u.message.length).toBeLessThan(300);
  });

  it('quoteUserText escapes control characters and keeps short text whole', () => {
    expect(quoteUserText('a.b')).toBe("'a.b'");
    expect(quoteUserText('a\r\nb\x00')).toBe("'a\\r\\nb\\x00'");
    expect(quoteUserText('x'.repeat(100), 10)).toBe("'xxxxxxxxxx...' (100 characters)");
  });
});

describe('route remove', () => {
  it('names a route that is not there as the user wrote it', async () => {
    const r = Router.fromText('Idle -> rt :: IPLookup(10.0.0.0/8 0) -> Discard;', 'x.click', elementLibrary, { log });
    await r.initialize();
    const h = r.handler('rt.remove');
    const remove = async (v: string): Promise<void> => h.write!(v);
    await expect(remove('8.8.8.0/24')).rejects.toThrow("route '8.8.8.0/24' not found");
    await expect(remove('10.0.0.0/8 - 3')).rejects.toThrow("route '10.0.0.0/8 - 3' not found");
    await remove('10.0.0.0/8');
  });
});
