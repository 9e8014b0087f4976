/**
 * Parser for Click's configuration language:
 *
 *   name :: Class(args);          declaration (also `a, b :: Class`)
 *   a -> b -> c;                  connections (port 0 to port 0)
 *   a[1] -> [0]b;                 explicit ports
 *   Class(args) -> name;          anonymous elements, named `Class@N` as Click does
 *   // line, /* block *\/ and #-line comments; `;` between statements is optional
 *
 * The result is syntax only; `buildGraph` resolves classes, validates arguments and ports.
 */
import type { ConfigArgs } from './args.js';
import { tokenize, type Token } from './lexer.js';
import { splitArgs } from './split-args.js';
import { ConfigError, type SourceLocation } from './source-location.js';
import { quoteUserText } from '../quote-user-text.js';

export interface ParsedElement {
  name: string;
  className: string;
  args: ConfigArgs;
  /** The raw argument text, for the `config` handler. */
  argText: string;
  loc: SourceLocation;
  anonymous: boolean;
}

export interface ParsedConnection {
  from: string;
  fromPort: number;
  to: string;
  toPort: number;
  loc: SourceLocation;
}

export interface ParsedConfig {
  file: string;
  elements: ParsedElement[];
  connections: ParsedConnection[];
}

interface Endpoint {
  name: string;
  inPort: number | null;
  outPort: number | null;
  loc: SourceLocation;
}

export function parseConfig(text: string, file: string): ParsedConfig {
  return new Parser(tokenize(text, file), file).parse();
}

class Parser {
  private pos = 0;
  private readonly elements = new Map<string, ParsedElement>();
  private readonly connections: ParsedConnection[] = [];
  private anonymousCount = 0;
  private readonly forwardUses = new Map<string, SourceLocation>();

  constructor(
    private readonly tokens: Token[],
    private readonly file: string,
  ) {}

  parse(): ParsedConfig {
    while (this.peek().kind !== 'eof') {
      if (this.peek().kind === ';') {
        this.pos++;
        continue;
      }
      this.statement();
    }
    for (const [name, loc] of this.forwardUses) {
      if (!this.elements.has(name)) throw new ConfigError(loc, `undeclared element ${quoteUserText(name)}: expected a declared name or 'name :: Class'`);
    }
    return { file: this.file, elements: [...this.elements.values()], connections: this.connections };
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)];
  }

  private next(): Token {
    return this.tokens[this.pos++];
  }

  private expect(kind: Token['kind'], what: string): Token {
    const t = this.peek();
    if (t.kind !== kind) throw new ConfigError(t.loc, `expected ${what}, found ${describe(t)}`);
    return this.next();
  }

  private statement(): void {
    let left = this.endpoint();
    while (this.peek().kind === '->') {
      const arrow = this.next();
      const right = this.endpoint();
      this.connections.push({
        from: left.name,
        fromPort: left.outPort ?? 0,
        to: right.name,
        toPort: right.inPort ?? 0,
        loc: arrow.loc,
      });
      left = right;
    }
    const t = this.peek();
    if (t.kind !== ';' && t.kind !== 'eof' && t.kind !== 'ident' && t.kind !== '[') {
      throw new ConfigError(t.loc, `expected '->' or ';', found ${describe(t)}`);
    }
  }

  /** `[port]? element [port]?` where element is a name, a declaration or an anonymous class. */
  private endpoint(): Endpoint {
    let inPort: number | null = null;
    if (this.peek().kind === '[') inPort = this.port();
    const t = this.peek();
    if (t.kind !== 'ident') throw new ConfigError(t.loc, `expected an element name or class, found ${describe(t)}`);
    const name = this.element();
    let outPort: number | null = null;
    if (this.peek().kind === '[') outPort = this.port();
    return { name, inPort, outPort, loc: t.loc };
  }

  private port(): number {
    this.expect('[', "'['");
    const n = this.expect('number', 'a port number');
    this.expect(']', "']'");
    return Number(n.text);
  }

  /** Parse an element reference/declaration and return its name. */
  private element(): string {
    const first = this.next();
    // Declaration: `a :: Class(args)` or `a, b :: Class(args)`.
    if (this.peek().kind === '::' || (this.peek().kind === ',' && this.isDeclarationList())) {
      const names: Token[] = [first];
      while (this.peek().kind === ',') {
        this.next();
        names.push(this.expect('ident', 'an element name'));
      }
      this.expect('::', "'::'");
      const cls = this.expect('ident', 'a class name after ::');
      const argsTok = this.peek().kind === 'args' ? this.next() : null;
      for (const n of names) this.declare(n.text, cls, argsTok, n.loc, false);
      return names[names.length - 1].text;
    }
    // Anonymous element with arguments: `Class(args)`.
    if (this.peek().kind === 'args') {
      const argsTok = this.next();
      return this.anonymous(first, argsTok);
    }
    // A bare word: a declared name, else an anonymous element of that class (Click's rule).
    if (this.elements.has(first.text)) return first.text;
    if (/^[A-Z]/.test(first.text)) return this.anonymous(first, null);
    // Possibly declared further down; checked when the whole file is read.
    if (!this.forwardUses.has(first.text)) this.forwardUses.set(first.text, first.loc);
    return first.text;
  }

  private isDeclarationList(): boolean {
    // `a, b :: C` — look ahead over `, ident` pairs for `::`.
    let k = 0;
    while (this.peek(k).kind === ',' && this.peek(k + 1).kind === 'ident') k += 2;
    return k > 0 && this.peek(k).kind === '::';
  }

  private anonymous(cls: Token, argsTok: Token | null): string {
    this.anonymousCount++;
    const name = `${cls.text}@${this.anonymousCount}`;
    this.declare(name, cls, argsTok, cls.loc, true);
    return name;
  }

  private declare(name: string, cls: Token, argsTok: Token | null, loc: SourceLocation, anonymous: boolean): void {
    const prev = this.elements.get(name);
    if (prev !== undefined) {
      throw new ConfigError(loc, `element ${quoteUserText(name)} redeclared (first declared at line ${prev.loc.line}, column ${prev.loc.column})`);
    }
    const argText = argsTok?.text ?? '';
    const list = argsTok !== null && argsTok.argsStart !== undefined ? splitArgs(argsTok.text, argsTok.argsStart) : [];
    this.elements.set(name, { name, className: cls.text, args: { loc: cls.loc, list }, argText, loc, anonymous });
  }
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of file';
  if (t.kind === 'args') return "'('";
  return quoteUserText(t.text);
}
