/**
 * The live router demo (`npm run live-demo`, as root): builds host A, host B and a router in
 * three network namespaces joined by veth pairs (scripts/live-router-lab.ts; nothing touches
 * the machine's own interfaces), runs examples/live-router.click in the router's namespace,
 * and sends real traffic through it with Debian's tools: ping both ways, a UDP transfer and a
 * TCP transfer with socat (files compared by SHA-256 on arrival). Prints what arrived and the
 * router's summary; exits 1 if anything did not arrive. The namespaces are removed on exit,
 * Ctrl-C included.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { netnsLabAvailable } from './netns-lab.js';
import { buildRouterLab, LIVE, type RouterLab } from './live-router-lab.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'dist/app/cli/hetbox.js');
const example = path.join(root, 'examples/live-router.click');

function sha(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function inNs(ns: string, cmd: string[]): ReturnType<typeof spawnSync> {
  return spawnSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8' });
}

async function startRouter(t: RouterLab, sock: string): Promise<{ child: ChildProcess; out: Promise<string> }> {
  const child = spawn('ip', ['netns', 'exec', t.router, process.execPath, cli, 'run', example, '--control', sock], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const out = new Promise<string>((resolve) => child.on('close', () => resolve(stdout)));
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('control socket listening')) resolve();
    });
    child.on('close', (code) => reject(new Error(`hetbox run exited (${code}) before it was ready:\n${stderr}`)));
  });
  return { child, out };
}

async function main(): Promise<number> {
  const avail = netnsLabAvailable();
  if (!avail.ok) {
    console.error(`live-demo: ${avail.reason}`);
    return 2;
  }
  for (const tool of ['ping', 'socat']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      console.error(`live-demo: ${tool} is not installed: run \`npm run setup\``);
      return 2;
    }
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'hetbox-live-demo-'));
  const t = buildRouterLab('demo');
  const cleanup = (): void => {
    t.lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => (cleanup(), process.exit(130)));
  let ok = true;
  const check = (what: string, pass: boolean, detail: string): void => {
    ok &&= pass;
    console.log(`${pass ? 'ok  ' : 'FAIL'} ${what}: ${detail}`);
  };
  try {
    console.log(`namespaces: ${t.hostA} (${LIVE.hostIpA}), ${t.hostB} (${LIVE.hostIpB}), router ${t.router} (ra, rb)`);
    const router = await startRouter(t, path.join(dir, 'control.sock'));
    try {
      const ping = inNs(t.hostA, ['ping', '-n', '-c', '5', '-i', '0.2', '-W', '5', LIVE.hostIpB]);
      const pingLine = String(ping.stdout).split('\n').find((l) => l.includes('packets transmitted')) ?? String(ping.stderr);
      check('ping A -> B', /5 received/.test(pingLine), pingLine.trim());
      const pingBack = inNs(t.hostB, ['ping', '-n', '-c', '5', '-i', '0.2', '-W', '5', LIVE.hostIpA]);
      const backLine = String(pingBack.stdout).split('\n').find((l) => l.includes('packets transmitted')) ?? String(pingBack.stderr);
      check('ping B -> A', /5 received/.test(backLine), backLine.trim());

      // UDP: 64 datagrams of 1000 bytes (sent back to back: more would overflow the receiving
      // socket's default buffer, UdpRcvbufErrors, not the router); the receiver stops after 2 s without one.
      const udpSrc = path.join(dir, 'udp.bin');
      const udpDst = path.join(dir, 'udp.recv');
      writeFileSync(udpSrc, randomBytes(64 * 1000));
      const recv = spawn('ip', ['netns', 'exec', t.hostB, 'socat', '-u', '-T', '2', 'UDP-RECV:9000', `OPEN:${udpDst},creat,trunc`]);
      const recvDone = new Promise<void>((resolve) => recv.on('close', () => resolve()));
      await new Promise((r) => setTimeout(r, 300)); // socat binds its port
      inNs(t.hostA, ['socat', '-u', '-b', '1000', `OPEN:${udpSrc}`, `UDP-SENDTO:${LIVE.hostIpB}:9000`]);
      await recvDone;
      const udpOk = existsSync(udpDst) && sha(udpDst) === sha(udpSrc);
      const rcvbufErrors = String(inNs(t.hostB, ['nstat', '-az', 'UdpRcvbufErrors']).stdout).match(/UdpRcvbufErrors\s+(\d+)/)?.[1] ?? '?';
      check('UDP transfer A -> B (64 x 1000 bytes)', udpOk, udpOk ? 'every byte arrived' : `received ${existsSync(udpDst) ? readFileSync(udpDst).length : 0} of 64000 bytes (receiver's UdpRcvbufErrors: ${rcvbufErrors})`);

      // TCP: 4 MiB through the router, ACKs coming back through it.
      const tcpSrc = path.join(dir, 'tcp.bin');
      const tcpDst = path.join(dir, 'tcp.recv');
      writeFileSync(tcpSrc, randomBytes(4 << 20));
      const listen = spawn('ip', ['netns', 'exec', t.hostB, 'socat', '-u', 'TCP-LISTEN:9001,reuseaddr', `OPEN:${tcpDst},creat,trunc`]);
      const listenDone = new Promise<void>((resolve) => listen.on('close', () => resolve()));
      await new Promise((r) => setTimeout(r, 300));
      const started = performance.now();
      const send = inNs(t.hostA, ['socat', '-u', `OPEN:${tcpSrc}`, `TCP:${LIVE.hostIpB}:9001,connect-timeout=5`]);
      await listenDone;
      const secs = (performance.now() - started) / 1000;
      const tcpOk = send.status === 0 && existsSync(tcpDst) && sha(tcpDst) === sha(tcpSrc);
      check('TCP transfer A -> B (4 MiB)', tcpOk, tcpOk ? `SHA-256 equal, ${((4 * 8) / secs).toFixed(1)} Mbit/s` : String(send.stderr).trim() || 'file differs');
    } finally {
      router.child.kill('SIGINT');
      process.stdout.write(await router.out);
    }
  } finally {
    cleanup();
  }
  console.log(ok ? 'live-demo: everything arrived' : 'live-demo: FAILED');
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`live-demo: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
