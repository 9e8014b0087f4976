/**
 * One simulator child process and its binary protocol (hwsim/harness/ip_lookup_harness.cpp documents the frames).
 *
 * Requests are pipelined: each frame carries an id and the replies are matched by id, so several
 * lookup batches can be queued in the simulator at once. A watchdog declares the simulator hung
 * when work is outstanding and no frame has come back for `timeoutMs`; a hang, an exit or a broken
 * pipe rejects every outstanding request at once with BackendFailure and fails all later ones.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { BackendFailure } from '../../core/backend.js';

export const T_INFO = 1;
export const T_WRITE = 2;
export const T_LOOKUP = 3;
export const T_READ = 4;
export const T_CONFIG = 5;
export const T_ERROR = 15;

export interface SimProcessOptions {
  /** No reply for this long while work is outstanding means the simulator hung. */
  timeoutMs: number;
}

interface Pending {
  type: number;
  resolve: (payload: Uint32Array) => void;
  reject: (e: Error) => void;
}

export class SimProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private stderrTail = '';
  private failure: BackendFailure | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private lastProgress = performance.now();
  private exited = false;

  constructor(readonly binary: string, private readonly options: SimProcessOptions) {
    this.child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d: Buffer) => this.onData(d));
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-2000);
    });
    this.child.on('error', (e) => this.fail(`cannot run the simulator ${binary}: ${e.message}`));
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      const why = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
      const tail = this.stderrTail.trim();
      this.fail(`simulator ${why}${tail ? `: ${tail.split('\n').slice(-3).join(' | ')}` : ''}`);
    });
    // Writes to a dead child surface as EPIPE here, often before its 'exit' event: the exit
    // handler gives the true reason (the signal, the exit code), so wait a moment for it and
    // report the broken pipe only if no exit comes.
    this.child.stdin.on('error', (e) => {
      if (this.exited || this.failure) return;
      setTimeout(() => this.fail(`simulator input closed: ${e.message}`), 1000).unref();
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get failed(): BackendFailure | undefined {
    return this.failure;
  }

  get outstanding(): number {
    return this.pending.size;
  }

  /** Sends one frame made of `parts` (u32 words each) and resolves with the reply's payload after its id. */
  request(type: number, parts: readonly (Uint32Array | Int32Array)[]): Promise<Uint32Array> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++ >>> 0;
    let bytes = 8;
    for (const p of parts) bytes += p.byteLength;
    const head = Buffer.alloc(12);
    head.writeUInt32LE(bytes, 0);
    head.writeUInt32LE(type, 4);
    head.writeUInt32LE(id, 8);
    const promise = new Promise<Uint32Array>((resolve, reject) => {
      this.pending.set(id, { type, resolve, reject });
    });
    if (this.pending.size === 1) this.lastProgress = performance.now();
    this.armWatchdog();
    this.child.stdin.write(head);
    // Copies: the caller may reuse its columns as soon as this returns.
    for (const p of parts) this.child.stdin.write(Buffer.from(p.buffer.slice(p.byteOffset, p.byteOffset + p.byteLength)));
    return promise;
  }

  /** Closes the simulator's input (it finishes queued work, then exits) and waits up to `graceMs`. */
  async close(graceMs = 2000): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await done;
    clearTimeout(timer);
  }

  /** Kills the simulator at once (outstanding requests fail with BackendFailure). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exited) this.child.kill(signal);
  }

  private armWatchdog(): void {
    if (this.watchdog !== undefined || this.failure) return;
    const tick = Math.max(10, Math.min(1000, this.options.timeoutMs / 4));
    this.watchdog = setInterval(() => {
      if (this.pending.size === 0) {
        clearInterval(this.watchdog);
        this.watchdog = undefined;
        return;
      }
      const idle = performance.now() - this.lastProgress;
      if (idle > this.options.timeoutMs) {
        this.fail(`simulator hung: no reply for ${Math.round(idle)} ms with ${this.pending.size} request(s) outstanding`);
        this.kill();
      }
    }, tick);
    this.watchdog.unref();
  }

  private fail(message: string): void {
    if (this.failure) return;
    this.failure = new BackendFailure('fpga', message);
    if (this.watchdog !== undefined) clearInterval(this.watchdog);
    this.watchdog = undefined;
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(this.failure);
    if (!this.exited) this.child.kill('SIGKILL');
  }

  private onData(d: Buffer): void {
    this.chunks.push(d);
    this.buffered += d.length;
    this.lastProgress = performance.now();
    for (;;) {
      if (this.buffered < 4) return;
      const first = this.chunks[0];
      const len = first.length >= 4 ? first.readUInt32LE(0) : this.gather(4).readUInt32LE(0);
      if (this.buffered < 4 + len) return;
      const frame = this.gather(4 + len);
      this.consume(4 + len);
      this.dispatch(frame);
    }
  }

  private gather(n: number): Buffer {
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    const all = Buffer.concat(this.chunks);
    this.chunks = [all];
    return all.subarray(0, n);
  }

  private consume(n: number): void {
    while (n > 0) {
      const c = this.chunks[0];
      if (c.length <= n) {
        this.chunks.shift();
        n -= c.length;
        this.buffered -= c.length;
      } else {
        this.chunks[0] = c.subarray(n);
        this.buffered -= n;
        n = 0;
      }
    }
  }

  private dispatch(frame: Buffer): void {
    const type = frame.readUInt32LE(4);
    const id = frame.readUInt32LE(8);
    const p = this.pending.get(id);
    if (p === undefined) {
      this.fail(`simulator answered unknown request ${id} (type ${type})`);
      return;
    }
    this.pending.delete(id);
    if (type === T_ERROR) {
      const text = frame.subarray(12).toString('latin1').replace(/\0+$/, '');
      p.reject(new Error(`fpga simulator refused the request: ${text}`));
      return;
    }
    if (type !== p.type) {
      this.fail(`simulator answered request ${id} of type ${p.type} with type ${type}`);
      return;
    }
    // An aligned copy: the frame may sit at any byte offset of the pipe's chunk.
    const payload = new Uint32Array((frame.length - 12) / 4);
    Buffer.from(payload.buffer).set(frame.subarray(12));
    p.resolve(payload);
  }
}
