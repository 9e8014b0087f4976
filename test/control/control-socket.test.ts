import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { Router } from '../../core/router.js';
import { ControlServer, parseControlAddress } from '../../app/control/control-server.js';
import { ControlClient } from '../../app/control/control-client.js';
import { elementLibrary } from '../../elements/index.js';

const quiet = { info: () => undefined, warn: () => undefined };

describe('control socket', () => {
  let router: Router;
  let server: ControlServer;
  let client: ControlClient;
  let where: string;

  beforeAll(async () => {
    router = Router.fromText('Idle -> c :: Counter -> q :: Queue(5) -> Discard;', 'ctl.click', elementLibrary, { log: quiet });
    await router.initialize();
    server = new ControlServer(router);
    where = await server.listen(parseControlAddress('0'));
    client = await ControlClient.connect(parseControlAddress(where));
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('listens on loopback only by default', () => {
    expect(where).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('reads handlers, lists them, and writes validated values', async () => {
    expect((await client.read('c.count')).data).toBe('0\n');
    expect((await client.read('version')).code).toBe(200);
    const list = (await client.list()).data!.split('\n');
    expect(list).toContain('q.capacity rw');
    expect(list).toContain('c.count r');
    expect((await client.write('q.capacity', '10')).code).toBe(200);
    expect((await client.read('q.capacity')).data).toBe('10\n');
    expect((await client.read('c.class')).data).toBe('Counter\n');
    expect((await client.read('q.config')).data).toBe('5\n');
  });

  it('answers errors with Click status codes and keeps serving', async () => {
    const bad = await client.write('q.capacity', 'lots');
    expect(bad.code).toBe(520);
    expect((await client.read('nosuch.count')).code).toBe(510);
    expect((await client.read('c.nosuch')).code).toBe(511);
    expect((await client.write('c.count', '5')).code).toBe(530);
    expect((await client.command('FROB x')).code).toBe(501);
    expect((await client.command('READ')).code).toBe(500);
    expect((await client.command('CHECKWRITE q.capacity')).code).toBe(200);
    expect((await client.command('CHECKWRITE c.count')).code).toBe(530);
    expect((await client.read('q.capacity')).data).toBe('10\n');
  });

  it('takes multi-line values with WRITEDATA', async () => {
    const r = await client.write('q.capacity', '12\n');
    expect(r.code).toBe(200);
    expect((await client.read('q.capacity')).data).toBe('12\n');
  });

  it('serves a Unix socket too', async () => {
    const sockPath = path.join(mkdtempSync(path.join(os.tmpdir(), 'hetbox-ctl-')), 'ctl.sock');
    const s2 = new ControlServer(router);
    await s2.listen(parseControlAddress(sockPath));
    const c2 = await ControlClient.connect(parseControlAddress(sockPath));
    expect((await c2.read('c.count')).data).toBe('0\n');
    c2.close();
    await s2.close();
  });
});
