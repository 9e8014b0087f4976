import { describe, expect, it } from 'vitest';
import { Router } from '../../core/router.js';
import { elementLibrary } from '../../elements/index.js';
import { ConfigError } from '../../core/config/source-location.js';

const quiet = { info: () => undefined, warn: () => undefined };

function errorOf(text: string): string {
  try {
    Router.fromText(text, 'g.click', elementLibrary, { log: quiet });
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('graph building', () => {
  it('builds a valid graph with optional ports and class-defined output counts', () => {
    const r = Router.fromText(
      `Idle -> c :: Classifier(12/0800, 12/0806, -);
       c[0] -> Strip(14) -> chk :: CheckIPHeader -> ttl :: DecIPTTL -> Discard;
       c[1] -> Discard; c[2] -> Discard; ttl[1] -> Discard;`,
      'g.click',
      elementLibrary,
      { log: quiet },
    );
    expect(r.graph.byName.get('c')!.element.noutputs).toBe(3);
    expect(r.graph.byName.get('chk')!.element.noutputs).toBe(1);
    expect(r.graph.byName.get('ttl')!.element.noutputs).toBe(2);
  });

  it('names the place of every graph error', () => {
    expect(errorOf('Idle -> x :: Frobnicate -> Discard;')).toBe("g.click:1:14: unknown element class 'Frobnicate'");
    expect(errorOf('Idle -> x :: Countr -> Discard;')).toBe("g.click:1:14: unknown element class 'Countr' (did you mean Counter?)");
    expect(errorOf('Idle -> s :: Strip(fourteen) -> Discard;')).toMatch(/^g\.click:1:20: bad LENGTH: /);
    expect(errorOf('Idle -> s :: Strip(14, 15) -> Discard;')).toMatch(/^g\.click:1:24: unexpected argument '15'/);
    expect(errorOf('Idle -> c :: Counter; c[1] -> Discard;')).toBe("g.click:1:28: output port 1 out of range: 'c' (Counter) has outputs 0..0");
    expect(errorOf('Idle -> c :: Counter;')).toBe("g.click:1:9: output 0 of 'c' (Counter) is not connected");
    expect(errorOf('c :: Counter -> Discard;')).toBe("g.click:1:1: input 0 of 'c' (Counter) is not connected");
    expect(errorOf('Idle -> c :: Classifier(12/0800, -) -> Discard;')).toBe("g.click:1:9: output 1 of 'c' (Classifier) is not connected");
    expect(errorOf('Idle -> c :: Counter -> Discard; c -> Discard;')).toMatch(/^g\.click:1:36: output 0 of 'c' is already connected/);
    expect(errorOf('Idle -> Discard -> Idle;')).toBe("g.click:1:17: output port 0 out of range: 'Discard@2' (Discard) has no outputs");
  });

  it('rejects cycles, naming a connection in the loop', () => {
    expect(errorOf('Idle -> a :: Counter -> b :: Counter -> [0]t :: Tee(2); t[0] -> a; t[1] -> Discard;')).toMatch(/^g\.click:1:\d+: cycle through '/);
  });
});
