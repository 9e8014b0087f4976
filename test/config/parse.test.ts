import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/parse.js';
import { ConfigError } from '../../core/config/source-location.js';

function errorOf(text: string): ConfigError {
  try {
    parseConfig(text, 'x.click');
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('Click configuration parser', () => {
  it('parses declarations, chains, ports and anonymous elements', () => {
    const cfg = parseConfig(
      `// a router
src :: FromDump(FILE "in.pcap", STOP true);
c :: Classifier(12/0800, -);
src -> c;
c[0] -> Strip(14) -> CheckIPHeader -> [0]out :: Discard;
c[1] -> Discard;
/* trailing */`,
      'r.click',
    );
    expect(cfg.elements.map((e) => `${e.name}:${e.className}`)).toEqual([
      'src:FromDump',
      'c:Classifier',
      'Strip@1:Strip',
      'CheckIPHeader@2:CheckIPHeader',
      'out:Discard',
      'Discard@3:Discard',
    ]);
    expect(cfg.connections.map((c) => `${c.from}[${c.fromPort}]->[${c.toPort}]${c.to}`)).toEqual([
      'src[0]->[0]c',
      'c[0]->[0]Strip@1',
      'Strip@1[0]->[0]CheckIPHeader@2',
      'CheckIPHeader@2[0]->[0]out',
      'c[1]->[0]Discard@3',
    ]);
    const src = cfg.elements[0];
    expect(src.args.list.map((a) => a.raw)).toEqual(['FILE "in.pcap"', 'STOP true']);
    expect(src.args.list[1].loc).toEqual({ file: 'r.click', line: 2, column: 33 });
  });

  it('keeps commas inside quotes and parentheses within one argument', () => {
    const cfg = parseConfig('p :: Print("a, b", X(1, 2));', 'q.click');
    expect(cfg.elements[0].args.list.map((a) => a.raw)).toEqual(['"a, b"', 'X(1, 2)']);
  });

  it('accepts statements without semicolons, multi-name declarations and forward references', () => {
    const cfg = parseConfig('a -> b\na, b :: Counter\n', 'f.click');
    expect(cfg.elements.map((e) => e.name)).toEqual(['a', 'b']);
    expect(cfg.connections).toHaveLength(1);
  });

  it('takes # lines as comments', () => {
    const cfg = parseConfig('# comment\nd :: Discard;', 'h.click');
    expect(cfg.elements).toHaveLength(1);
  });

  it('names file:line:column in syntax errors', () => {
    const e1 = errorOf('a :: Counter;\na -> -> b;');
    expect(e1.message).toBe("x.click:2:6: expected an element name or class, found '->'");
    const e2 = errorOf('a :: Counter(\n');
    expect(e2.message).toMatch(/^x\.click:1:13: unbalanced parentheses/);
    const e3 = errorOf('a :: Counter; a :: Discard;');
    expect(e3.message).toMatch(/^x\.click:1:15: element 'a' redeclared \(first declared at line 1, column 1\)/);
    const e4 = errorOf('a :: Counter -> b;');
    expect(e4.message).toBe("x.click:1:17: undeclared element 'b': expected a declared name or 'name :: Class'");
    const e5 = errorOf('a :: Counter; a[x] -> Discard;');
    expect(e5.message).toBe("x.click:1:17: expected a port number, found 'x'");
    const e6 = errorOf('a :: Counter; $');
    expect(e6.message).toMatch(/^x\.click:1:15: unexpected character '\$'/);
    const e7 = errorOf('/* never closed');
    expect(e7.message).toMatch(/^x\.click:1:1: unterminated comment/);
  });
});
