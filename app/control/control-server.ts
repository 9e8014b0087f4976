/**
 * Serve a Router's handlers over the control protocol. Listens on loopback only unless the
 * caller passes another host on purpose; a bad command, an unknown handler or a rejected
 * value is an error reply on that connection, never a crash.
 *
 * Every buffer is bounded per connection (ControlLimits): a command line, a WRITEDATA value,
 * the input held while a command runs, and the replies not yet taken by the client. A client
 * that sends commands and never reads its replies is paused (its commands stay in the kernel's
 * socket buffers, not ours) and, if it still reads nothing for `stallTimeoutMs`, disconnected.
 */
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { existsSync, unlinkSync } from 'node:fs';
import { NoSuchElement, NoSuchHandler, type Router } from '../../core/router.js';
import type { Logger } from '../../core/runtime-env.js';
import { quoteUserText } from '../../core/quote-user-text.js';
import { GREETING, Status } from './protocol.js';
import type { ControlAddress } from './control-address.js';

export { parseControlAddress, ControlAddressError, type ControlAddress } from './control-address.js';

export interface ControlLimits {
  /** Longest command line; a longer one is answered 500 and the connection closed. */
  maxLineBytes: number;
  /**
   * Largest WRITEDATA value. A larger one is answered 500 at once and its declared bytes are
   * read and thrown away as they arrive (never held), so the next command is understood.
   */
  maxWriteDataBytes: number;
  /** Unsent reply bytes above which the connection's commands are no longer read. */
  replyHighWaterBytes: number;
  /** Unsent reply bytes above which the connection is closed (one huge reply past the high water). */
  replyHardLimitBytes: number;
  /** How long a paused connection may go without taking any reply before it is closed. */
  stallTimeoutMs: number;
}

export const DEFAULT_CONTROL_LIMITS: ControlLimits = {
  maxLineBytes: 1 << 20,
  maxWriteDataBytes: 4 << 20,
  replyHighWaterBytes: 1 << 20,
  replyHardLimitBytes: 64 << 20,
  stallTimeoutMs: 30_000,
};

export interface ControlServerOptions {
  limits?: Partial<ControlLimits>;
  /** Where disconnections for cause are reported (default: the router's logger). */
  log?: Logger;
}

/** What one connection holds right now, and the most it has held (for tests and `stats`). */
export interface ConnectionStats {
  id: number;
  /** Reply bytes written but not yet taken by the kernel. */
  replyBacklog: number;
  peakReplyBacklog: number;
  /** Input bytes held (partial commands, WRITEDATA values). */
  inputHeld: number;
  peakInputHeld: number;
  /** Whether reading is paused because replies are backed up. */
  paused: boolean;
  commands: number;
}

/**
 * Events (for tests and monitoring): 'paused' and 'resumed' (ConnectionStats) when a connection
 * stops or starts being read for its reply backlog; 'closed' (ConnectionStats, reason).
 */
export class ControlServer extends EventEmitter {
  private server: net.Server | null = null;
  private readonly connections = new Set<Connection>();
  private nextId = 1;
  readonly limits: ControlLimits;
  private readonly log: Logger;

  constructor(
    private readonly router: Router,
    options: ControlServerOptions = {},
  ) {
    super();
    this.limits = { ...DEFAULT_CONTROL_LIMITS, ...options.limits };
    this.log = options.log ?? router.env.log;
  }

  async listen(addr: ControlAddress): Promise<string> {
    // Half-open: a client may send its commands and shut its side (`printf ... | nc`); the
    // replies still go out, and the connection ends after the last one.
    const server = net.createServer({ allowHalfOpen: true }, (sock) => this.accept(sock));
    this.server = server;
    server.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (addr.path !== undefined) {
        if (existsSync(addr.path)) unlinkSync(addr.path);
        server.listen(addr.path, () => resolve());
      } else server.listen(addr.port ?? 0, addr.host ?? '127.0.0.1', () => resolve());
    });
    const a = server.address();
    if (typeof a === 'string' || a === null) return String(a);
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.sock.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Every open connection's buffers. */
  stats(): ConnectionStats[] {
    return [...this.connections].map((c) => c.stats());
  }

  private accept(sock: net.Socket): void {
    const c = new Connection(this.nextId++, sock, this.limits, (cmd, target, rest) => this.command(cmd, target, rest), (e, s, reason) => {
      if (e === 'closed') {
        this.connections.delete(c);
        if (reason !== undefined) this.log.warn(`control: connection ${s.id} closed: ${reason}`);
      }
      this.emit(e, s, reason);
    });
    this.connections.add(c);
  }

  /** One command's reply (never throws). WRITEDATA values arrive here as WRITE. */
  async command(cmd: string, target: string, rest: string): Promise<string> {
    switch (cmd) {
      case 'READ':
        return this.read(target, rest);
      case 'WRITE':
        return this.write(target, rest);
      case 'LIST': {
        const body = this.router.listHandlers().map((h) => `${h.name} ${h.read ? 'r' : ''}${h.write ? 'w' : ''}`).join('\n') + '\n';
        return `${Status.ok} Read handler 'list' OK\r\nDATA ${Buffer.byteLength(body)}\r\n${body}`;
      }
      case 'CHECKREAD':
      case 'CHECKWRITE': {
        if (target === '') return `${Status.syntaxError} ${cmd} needs a handler name\r\n`;
        try {
          const h = this.router.handler(target);
          const ok = cmd === 'CHECKREAD' ? h.read !== undefined : h.write !== undefined;
          return ok ? `${Status.ok} ${cmd} ${target} OK\r\n` : `${Status.permissionDenied} handler ${quoteUserText(target)} is not ${cmd === 'CHECKREAD' ? 'read' : 'writ'}able\r\n`;
        } catch (e) {
          return errorReply(e);
        }
      }
      default:
        return `${Status.unimplemented} unimplemented command ${quoteUserText(cmd)}\r\n`;
    }
  }

  private async read(name: string, arg: string): Promise<string> {
    if (name === '') return `${Status.syntaxError} READ needs a handler name\r\n`;
    try {
      const h = this.router.handler(name);
      if (h.read === undefined) return `${Status.permissionDenied} handler ${quoteUserText(name)} is write-only\r\n`;
      const value = await h.read(arg.trim() === '' ? undefined : arg.trim());
      const body = value.endsWith('\n') || value === '' ? value : `${value}\n`;
      return `${Status.ok} Read handler ${quoteUserText(name)} OK\r\nDATA ${Buffer.byteLength(body)}\r\n${body}`;
    } catch (e) {
      return errorReply(e);
    }
  }

  private async write(name: string, value: string): Promise<string> {
    if (name === '') return `${Status.syntaxError} WRITE needs a handler name\r\n`;
    try {
      const h = this.router.handler(name);
      if (h.write === undefined) return `${Status.permissionDenied} handler ${quoteUserText(name)} is read-only\r\n`;
      await h.write(value);
      return `${Status.ok} Write handler ${quoteUserText(name)} OK\r\n`;
    } catch (e) {
      return errorReply(e);
    }
  }
}

/** How long an ended connection may keep sending (ignored) before it is destroyed. */
const FINISH_GRACE_MS = 5000;

type Execute = (cmd: string, target: string, rest: string) => Promise<string>;
type Notify = (event: 'paused' | 'resumed' | 'closed', stats: ConnectionStats, reason?: string) => void;

/** One client: reads commands in order, one at a time, and writes their replies in order. */
class Connection {
  /** Input received and not yet consumed, as latin1 (one character per byte). */
  private buf = '';
  private expectData: { handler: string; n: number } | null = null;
  /** Bytes of a refused WRITEDATA value still to be dropped. */
  private discard = 0;
  private running = false;
  private inputEnded = false;
  private paused = false;
  private closed = false;
  private closeReason: string | undefined;
  private stallTimer: NodeJS.Timeout | null = null;
  private peakReplyBacklog = 0;
  private peakInputHeld = 0;
  private commands = 0;

  constructor(
    readonly id: number,
    readonly sock: net.Socket,
    private readonly limits: ControlLimits,
    private readonly execute: Execute,
    private readonly notify: Notify,
  ) {
    sock.setEncoding('latin1');
    sock.on('error', () => undefined);
    sock.on('close', () => this.onClose());
    sock.on('drain', () => this.onDrain());
    sock.on('end', () => {
      this.inputEnded = true;
      void this.pump();
    });
    sock.on('data', (chunk: string) => {
      if (this.closed) return; // after QUIT or a refusal: nothing more is read or held
      this.buf += chunk;
      this.peakInputHeld = Math.max(this.peakInputHeld, this.buf.length);
      void this.pump();
    });
    this.send(`${GREETING}\r\n`);
  }

  stats(): ConnectionStats {
    return {
      id: this.id,
      replyBacklog: this.sock.writableLength,
      peakReplyBacklog: this.peakReplyBacklog,
      inputHeld: this.buf.length,
      peakInputHeld: this.peakInputHeld,
      paused: this.paused,
      commands: this.commands,
    };
  }

  private send(text: string): void {
    if (this.closed || this.sock.destroyed) return;
    this.sock.write(text);
    const backlog = this.sock.writableLength;
    this.peakReplyBacklog = Math.max(this.peakReplyBacklog, backlog);
    if (backlog > this.limits.replyHardLimitBytes) {
      this.drop(`${backlog} reply bytes not taken (limit ${this.limits.replyHardLimitBytes})`);
    }
  }

  /** Close for cause: the client is told when it can still hear, and the reason is logged. */
  private drop(reason: string, lastWords?: string): void {
    if (this.closed) return;
    this.closeReason = reason;
    if (lastWords !== undefined && this.sock.writableLength <= this.limits.replyHighWaterBytes) {
      this.finish(lastWords);
      this.closed = true;
      this.buf = '';
    } else {
      this.buf = '';
      this.sock.destroy();
    }
  }

  /**
   * Send the last words and end our side. The socket is half-open (see listen), so the client
   * may go on sending: that is ignored (never held), and the socket is destroyed after a grace
   * period rather than at once, since closing with unread input makes TCP reset the connection
   * and the client could lose the last words.
   */
  private finish(lastWords = ''): void {
    this.sock.end(lastWords);
    setTimeout(() => this.sock.destroy(), FINISH_GRACE_MS).unref();
  }

  private onClose(): void {
    this.closed = true;
    this.buf = '';
    this.expectData = null;
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.stallTimer = null;
    this.notify('closed', this.stats(), this.closeReason);
  }

  private onDrain(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.stallTimer = null;
    this.notify('resumed', this.stats());
    void this.pump();
  }

  private overHighWater(): boolean {
    return this.sock.writableLength > this.limits.replyHighWaterBytes;
  }

  /** Run the commands in `buf` in order until it holds no complete one or replies back up. */
  private async pump(): Promise<void> {
    if (this.running) {
      this.flow();
      return;
    }
    this.running = true;
    try {
      while (!this.closed) {
        if (this.overHighWater()) {
          this.pause();
          break;
        }
        const step = this.nextStep();
        if (step === null) break;
        if (step.kind === 'reply') this.send(step.text);
        else {
          this.commands++;
          const reply = await this.execute(step.cmd, step.target, step.rest);
          this.send(reply);
        }
      }
    } finally {
      this.running = false;
    }
    // The client has sent all it will: once its last complete command is answered, finish.
    if (this.inputEnded && !this.paused && !this.closed) {
      this.closed = true;
      this.buf = '';
      this.finish();
      return;
    }
    this.flow();
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.notify('paused', this.stats());
    if (this.limits.stallTimeoutMs > 0 && Number.isFinite(this.limits.stallTimeoutMs)) {
      this.stallTimer = setTimeout(() => {
        this.stallTimer = null;
        if (this.paused) this.drop(`client took no reply for ${this.limits.stallTimeoutMs} ms with ${this.sock.writableLength} reply bytes waiting`);
      }, this.limits.stallTimeoutMs);
      this.stallTimer.unref();
    }
  }

  /**
   * Read from the socket only while the input held is under its bound (one command line, plus
   * the WRITEDATA value being collected) and the replies are under theirs; otherwise leave the
   * client's bytes in the kernel, which pushes back on the client.
   */
  private flow(): void {
    if (this.closed) return;
    const holdLimit = this.limits.maxLineBytes + (this.expectData?.n ?? 0);
    if (this.paused || this.overHighWater() || this.buf.length > holdLimit) this.sock.pause();
    else this.sock.resume();
  }

  /** The next thing to do with the input, or null when more input is needed. */
  private nextStep(): { kind: 'reply'; text: string } | { kind: 'run'; cmd: string; target: string; rest: string } | null {
    for (;;) {
      if (this.discard > 0) {
        const k = Math.min(this.discard, this.buf.length);
        this.buf = this.buf.slice(k);
        this.discard -= k;
        if (this.discard > 0) return null;
      }
      if (this.expectData !== null) {
        const { handler, n } = this.expectData;
        if (this.buf.length < n) return null;
        const value = this.buf.slice(0, n);
        this.buf = this.buf.slice(n);
        this.expectData = null;
        return { kind: 'run', cmd: 'WRITE', target: handler, rest: value };
      }
      const nl = this.buf.indexOf('\n');
      if (nl < 0) {
        if (this.buf.length > this.limits.maxLineBytes) {
          this.drop('command line too long', `${Status.syntaxError} command line longer than ${this.limits.maxLineBytes} bytes; closing\r\n`);
        }
        return null;
      }
      if (nl > this.limits.maxLineBytes) {
        this.drop('command line too long', `${Status.syntaxError} command line longer than ${this.limits.maxLineBytes} bytes; closing\r\n`);
        return null;
      }
      const line = this.buf.slice(0, nl).replace(/\r$/, '');
      this.buf = this.buf.slice(nl + 1);
      const m = /^\s*(\S+)\s*(\S*)\s?([\s\S]*)$/.exec(line);
      if (!m || line.trim() === '') continue;
      const cmd = m[1].toUpperCase();
      const target = m[2];
      const rest = m[3];
      if (cmd === 'QUIT') {
        this.closed = true;
        this.buf = '';
        this.finish(`200 Goodbye!\r\n`);
        return null;
      }
      if (cmd === 'WRITEDATA') {
        const text = rest.trim();
        const n = /^\d+$/.test(text) ? Number(text) : NaN;
        if (!Number.isSafeInteger(n)) return { kind: 'reply', text: `${Status.syntaxError} WRITEDATA needs a byte count, got ${quoteUserText(text)}\r\n` };
        if (n > this.limits.maxWriteDataBytes) {
          this.discard = n;
          return { kind: 'reply', text: `${Status.syntaxError} WRITEDATA of ${n} bytes refused: the limit is ${this.limits.maxWriteDataBytes} bytes; the ${n} bytes that follow are discarded\r\n` };
        }
        this.expectData = { handler: target, n };
        continue;
      }
      return { kind: 'run', cmd, target, rest };
    }
  }
}

/** Longest error text in a reply: a handler's message may quote a user's value. */
const MAX_ERROR_TEXT = 1000;

function errorReply(e: unknown): string {
  // One line whatever the message holds: a bare CR or LF from a user's value would end the
  // reply line early and desynchronise the client.
  let msg = (e instanceof Error ? e.message : String(e)).replace(/[\r\n]+/g, ' ');
  if (msg.length > MAX_ERROR_TEXT) msg = `${msg.slice(0, MAX_ERROR_TEXT)}... (${msg.length} characters)`;
  if (e instanceof NoSuchElement) return `${Status.noSuchElement} ${msg}\r\n`;
  if (e instanceof NoSuchHandler) return `${Status.noSuchHandler} ${msg}\r\n`;
  return `${Status.handlerError} ${msg}\r\n`;
}
