/**
 * `npm run soak [-- --duration S] [--fib FILE] [--out FILE] [--router-heap-mb N]`: a router under steady traffic
 * while a control client churns its routes, watching memory and checking lookups.
 *
 * The router (bench/soak-router.ts, its own process: SoakSource -> IPLookup(FIB) -> Counter ->
 * Discard) serves a Unix control socket in a temp directory (nothing else is reachable). The
 * client replays the differences between the three LINX snapshots back and forth (A->B->C->B->A
 * ...) as `set`/`remove` writes of 200 routes, interleaved with generated churn (`add` then
 * `remove` of /24s in 240/8, each with a gateway never used before). Every 10 writes it READs
 * `rt.lookup` for 24 addresses (random ones and ones inside routes just changed) and compares
 * the gateway with a naive longest-prefix match over the routes it knows are installed. Every
 * second it samples the router's RSS (/proc/PID/status). After warm-up (the first quarter of the
 * run) it reports the slope (least squares, MB/min) and the peak; the run fails on any lookup
 * mismatch, a control request unanswered for 10 s, packets that stop flowing, or (runs of 60 s
 * or more) RSS growth between the first and last fifth after warm-up over max(24 MB, 10%).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ControlClient, type ControlReply } from '../app/control/control-client.js';
import { loadRouteFile } from '../core/routes/load-routes.js';
import { formatIPv4, formatPrefix } from '../core/routes/ipv4.js';
import { projectRoot, sharedData } from './paths.js';

export interface SoakOptions {
  durationS: number;
  fib?: string;
  /** Cap the router's V8 old space (MB): tells a live leak (the router dies) from garbage V8 has not collected yet (RSS levels off). */
  routerHeapMB?: number;
  log?: (line: string) => void;
}

export interface SoakReport {
  durationS: number;
  writes: number;
  routeChanges: number;
  uniqueGateways: number;
  linxTransitions: number;
  lookupsChecked: number;
  mismatches: string[];
  packets: number;
  maxControlMs: number;
  rssMB: { start: number; warm: number; peak: number; end: number; slopeMBPerMin: number; growthMB: number; samples: number };
  failures: string[];
}

const LINX = ['20170101.0000', '20170109.1600', '20170112.0800'].map((d) => `routes/preprocessed-ipv4.rib.${d}.txt`);
const CHUNK = 200;
const WINDOW = 1000;

type Table = Map<string, number>;
const key = (prefix: number, len: number): string => `${prefix >>> 0}/${len}`;
const mask = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

function tableOf(file: string): Table {
  const l = loadRouteFile(file);
  const t: Table = new Map();
  const f = l.fibs[0];
  for (let i = 0; i < f.count; i++) t.set(key(f.prefix[i], f.len[i]), l.nextHops[f.hop[i]].gateway ?? 0);
  return t;
}

function naiveLookup(t: Table, a: number): number {
  for (let len = 32; len >= 0; len--) {
    const g = t.get(key((a & mask(len)) >>> 0, len));
    if (g !== undefined) return g;
  }
  return -1;
}

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const median = (xs: number[]): number => (xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[xs.length >> 1]);

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const fibFile = opts.fib ?? sharedData(LINX[0]);
  const snapshots = LINX.map((f) => tableOf(sharedData(f)));
  const model: Table = tableOf(fibFile);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-soak-'));
  const sock = path.join(dir, 'control.sock');
  const heapFlag = opts.routerHeapMB !== undefined ? [`--max-old-space-size=${opts.routerHeapMB}`] : [];
  const child = spawn(process.execPath, [...heapFlag, path.join(projectRoot(), 'dist', 'bench', 'soak-router.js'), sock, fibFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('control socket listening')) resolve();
    });
    void exited.then((code) => reject(new Error(`soak router exited (${code}) before listening: ${stderr}`)));
  });
  const pid = child.pid!;
  const report: SoakReport = {
    durationS: opts.durationS, writes: 0, routeChanges: 0, uniqueGateways: 0, linxTransitions: 0, lookupsChecked: 0,
    mismatches: [], packets: 0, maxControlMs: 0,
    rssMB: { start: rssMB(pid), warm: NaN, peak: 0, end: NaN, slopeMBPerMin: 0, growthMB: 0, samples: 0 },
    failures: [],
  };
  const samples: [number, number][] = [];
  const t0 = performance.now();
  const sampler = setInterval(() => {
    try {
      const r = rssMB(pid);
      samples.push([(performance.now() - t0) / 1000, r]);
      report.rssMB.peak = Math.max(report.rssMB.peak, r);
    } catch {
      // The router has exited; the run's end reports it.
    }
  }, 1000);
  const client = await ControlClient.connect({ path: sock });
  const call = async (what: () => Promise<ControlReply>, label: string): Promise<ControlReply> => {
    const s = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      what(),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`control request '${label}' unanswered for 10 s`)), 10_000))),
    ]).finally(() => clearTimeout(timer));
    report.maxControlMs = Math.max(report.maxControlMs, performance.now() - s);
    return r;
  };
  const write = async (handler: string, lines: string[]): Promise<void> => {
    if (lines.length === 0) return;
    const r = await call(() => client.write(handler, lines.join('\n') + '\n'), handler);
    if (r.code !== 200) throw new Error(`${handler} refused (${r.code} ${r.text}): ${lines[0]} ...`);
    report.writes++;
    report.routeChanges += lines.length;
  };
  let rng = 0x9e3779b9;
  const rand = (): number => {
    rng ^= rng << 13;
    rng ^= rng >>> 17;
    rng ^= rng << 5;
    return rng >>> 0;
  };
  const recent: [number, number][] = [];
  const check = async (): Promise<void> => {
    const addrs: number[] = [];
    for (let i = 0; i < 12; i++) addrs.push(rand());
    for (let i = 0; i < 12 && recent.length > 0; i++) {
      const [p, len] = recent[rand() % recent.length];
      addrs.push((p | (rand() & ~mask(len))) >>> 0);
    }
    for (const a of addrs) {
      const r = await call(() => client.read('rt.lookup', formatIPv4(a)), 'READ rt.lookup');
      const words = (r.data ?? '').trim().split(/\s+/);
      const got = words.length === 2 ? words[1] : '-';
      const want = naiveLookup(model, a);
      const wantText = want <= 0 ? '-' : formatIPv4(want);
      report.lookupsChecked++;
      if (got !== wantText && report.mismatches.length < 20) report.mismatches.push(`${formatIPv4(a)}: router ${r.data?.trim()} but naive LPM ${wantText}`);
    }
  };
  const packets = async (): Promise<number> => Number((await call(() => client.read('cnt.count'), 'READ cnt.count')).data ?? 'NaN');

  // Generated churn: /24s in 240/8 (never in a real table), each with a gateway used once.
  let gen = 0;
  const live: number[] = [];
  const generated = async (): Promise<void> => {
    const adds: string[] = [];
    for (let i = 0; i < CHUNK; i++, gen++) {
      const p = (0xf0000000 + ((gen % 65536) << 8)) >>> 0;
      const gw = (0x64400000 + gen) >>> 0;
      if (model.has(key(p, 24))) continue;
      adds.push(`${formatPrefix(p, 24)} ${formatIPv4(gw)} 0`);
      model.set(key(p, 24), gw);
      live.push(p);
      recent.push([p, 24]);
      report.uniqueGateways++;
    }
    await write('rt.add', adds);
    const rm = live.length > WINDOW ? live.splice(0, live.length - WINDOW) : [];
    for (const p of rm) model.delete(key(p, 24));
    await write('rt.remove', rm.map((p) => formatPrefix(p, 24)));
  };

  const deadline = t0 + opts.durationS * 1000;
  const order = [0, 1, 2, 1];
  let step = 0;
  let sinceCheck = 0;
  const packetsStart = await packets();
  let lastPackets = packetsStart;
  try {
    while (performance.now() < deadline) {
      const to = snapshots[order[(step + 1) % order.length]];
      step++;
      // Routes to remove (in the model, not in the target; generated routes are left alone) and to set.
      const removes: string[] = [];
      const sets: string[] = [];
      for (const [k, g] of model) {
        const [p, len] = k.split('/').map(Number);
        if (p >>> 24 === 240) continue;
        if (!to.has(k)) removes.push(k);
        else if (to.get(k) !== g) sets.push(k);
      }
      for (const k of to.keys()) if (!model.has(k)) sets.push(k);
      const ops: ['rt.remove' | 'rt.set', string][] = [...removes.map((k) => ['rt.remove', k] as ['rt.remove', string]), ...sets.map((k) => ['rt.set', k] as ['rt.set', string])];
      for (let i = 0; i < ops.length && performance.now() < deadline; i += CHUNK) {
        const part = ops.slice(i, i + CHUNK);
        const rm = part.filter((o) => o[0] === 'rt.remove').map((o) => o[1]);
        const st = part.filter((o) => o[0] === 'rt.set').map((o) => o[1]);
        await write('rt.remove', rm.map((k) => formatPrefix(...(k.split('/').map(Number) as [number, number]))));
        for (const k of rm) model.delete(k);
        await write('rt.set', st.map((k) => {
          const [p, len] = k.split('/').map(Number);
          return `${formatPrefix(p, len)} ${formatIPv4(to.get(k)!)} 0`;
        }));
        for (const k of [...rm, ...st]) {
          const [p, len] = k.split('/').map(Number);
          if (st.includes(k)) model.set(k, to.get(k)!);
          recent.push([p, len]);
        }
        if (recent.length > 4096) recent.splice(0, recent.length - 4096);
        await generated();
        if (++sinceCheck >= 5) {
          sinceCheck = 0;
          await check();
          const now = await packets();
          if (now <= lastPackets) report.failures.push(`packets stopped flowing (count ${now} at ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
          lastPackets = now;
        }
      }
      if (performance.now() < deadline) report.linxTransitions++;
      log(`soak: ${((performance.now() - t0) / 1000).toFixed(0)} s, ${report.routeChanges} route changes, ${report.uniqueGateways} gateways, RSS ${samples.length ? samples[samples.length - 1][1].toFixed(0) : '?'} MB`);
    }
    await check();
    report.packets = (await packets()) - packetsStart;
  } catch (e) {
    report.failures.push((e as Error).message);
  } finally {
    clearInterval(sampler);
    try {
      report.rssMB.end = rssMB(pid);
    } catch {
      report.rssMB.end = NaN;
    }
    try {
      await call(() => client.command('WRITE stop'), 'WRITE stop');
      client.close();
    } catch (e) {
      child.kill('SIGKILL');
      report.failures.push(`stop: ${(e as Error).message}`);
    }
  }
  const code = await exited;
  if (code !== 0) report.failures.push(`router exited with ${code}: ${stderr.slice(-500)}`);
  const warm = samples.filter(([t]) => t >= opts.durationS / 4);
  report.rssMB.samples = samples.length;
  report.rssMB.warm = warm.length ? warm[0][1] : NaN;
  report.rssMB.slopeMBPerMin = slope(warm) * 60;
  const fifth = Math.max(1, Math.floor(warm.length / 5));
  report.rssMB.growthMB = warm.length >= 2 ? median(warm.slice(-fifth).map((s) => s[1])) - median(warm.slice(0, fifth).map((s) => s[1])) : 0;
  if (report.mismatches.length > 0) report.failures.push(`${report.mismatches.length} lookup(s) differ from the naive LPM`);
  if (report.packets <= 0) report.failures.push('no packets flowed');
  if (opts.durationS >= 60 && report.rssMB.growthMB > Math.max(24, 0.1 * report.rssMB.warm)) report.failures.push(`RSS grew ${report.rssMB.growthMB.toFixed(1)} MB after warm-up`);
  void stdout;
  return report;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { duration: { type: 'string', default: '180' }, fib: { type: 'string' }, out: { type: 'string' }, 'router-heap-mb': { type: 'string' } } });
  const durationS = Number(values.duration);
  if (!(durationS > 0)) throw new Error('--duration: expected seconds > 0');
  const heap = values['router-heap-mb'] === undefined ? undefined : Number(values['router-heap-mb']);
  const report = await runSoak({ durationS, fib: values.fib, ...(heap !== undefined && heap > 0 ? { routerHeapMB: heap } : {}) });
  const out = values.out ?? path.join(projectRoot(), 'bench', 'out', 'soak.json');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(report, null, 2));
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = report.failures.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`soak: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
