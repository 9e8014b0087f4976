/**
 * Streaming, synchronous gunzip in bounded memory: compressed bytes are read 64 KiB at a time
 * and inflated into a 256 KiB stage, whatever the inflated size (a 1 MB file may hold 1 GiB).
 * Concatenated gzip members are one stream, and zero padding after the last is accepted, as
 * gunzip and Node's zlib accept them.
 *
 * The capture parsers pull bytes synchronously (FileWindow.fill), and Node's public zlib API
 * streams only asynchronously (its sync calls inflate a whole buffer), so this drives the
 * native zlib handle behind `zlib.createGunzip()` with its `writeSync`, the call Node's own
 * `gunzipSync` makes in a loop. Node 20 is what the project runs on; if that handle is missing
 * the constructor says so instead of misbehaving.
 *
 * Damage (a flipped byte, a bad CRC, trailing garbage, a cut) is not thrown: the stream ends
 * there and `error` names the compressed byte offset and how much was inflated. zlib discards
 * the output of the call that fails, so on the first error the stream is inflated again from
 * the start, skipping what was already delivered, and the failing stretch is fed one byte at a
 * time: every byte zlib can produce before the damage is delivered (what tshark recovers).
 */
import zlib from 'node:zlib';

/** Reads up to `len` compressed bytes at `position` into `buf` at `offset`; 0 at the end. */
export type ReadAt = (buf: Uint8Array, offset: number, len: number, position: number) => number;

/** The native handle's synchronous write (see the header for why it is used). */
interface NativeZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  onerror: (message: string, errno: number, code?: string) => void;
}

interface NativeZlib {
  stream: zlib.Gunzip;
  handle: NativeZlibHandle;
  /** [avail_out, avail_in] after each writeSync. */
  state: Uint32Array;
  failure: string | null;
}

function openNative(): NativeZlib {
  const stream = zlib.createGunzip();
  const internals = stream as unknown as { _handle?: Partial<NativeZlibHandle>; _writeState?: Uint32Array };
  const handle = internals._handle;
  const state = internals._writeState;
  if (handle === undefined || typeof handle.writeSync !== 'function' || !(state instanceof Uint32Array)) {
    throw new Error(`streaming gunzip needs zlib's native handle (Node 20); this Node (${process.version}) does not expose it`);
  }
  const z: NativeZlib = { stream, handle: handle as NativeZlibHandle, state, failure: null };
  // Replaces Node's handler (which destroys the stream and raises 'error' later): failure is a value here.
  z.handle.onerror = (message, _errno, code) => {
    if (z.failure === null) z.failure = code !== undefined ? `${message} (${code})` : message;
  };
  return z;
}

function closeNative(z: NativeZlib): void {
  try {
    z.stream.close();
  } catch {
    /* already closed after an error */
  }
}

const INPUT_BYTES = 64 << 10;
const STAGE_BYTES = 256 << 10;

export class GzipInflater {
  /** Why the stream ended early, with the compressed byte offset; null while it is good. */
  error: string | null = null;
  /** Inflated bytes delivered so far (this pass). */
  delivered = 0;
  private z: NativeZlib;
  private readonly input = new Uint8Array(INPUT_BYTES);
  /** Compressed offset of input[0]; input[inOff, inLen) is not yet consumed. */
  private inBase = 0;
  private inOff = 0;
  private inLen = 0;
  private readonly stage = new Uint8Array(STAGE_BYTES);
  private stageOff = 0;
  private stageLen = 0;
  private done = false;
  /** Output bytes to drop after a restart (already delivered before the error). */
  private skip = 0;
  /** After a restart: from this compressed offset on, feed one byte per call (-1: normal). */
  private carefulFrom = -1;
  /** Inflated bytes put in the stage this pass (after any skip). */
  private emitted = 0;
  /** The last call filled the stage: zlib may hold more output for input already consumed. */
  private lastFull = false;

  constructor(private readonly readAt: ReadAt) {
    this.z = openNative();
  }

  /** Copy up to `len` inflated bytes into `out` at `offset`; 0 only at the end (see `error`). */
  read(out: Uint8Array, offset: number, len: number): number {
    let got = 0;
    while (got < len) {
      if (this.stageOff === this.stageLen && !this.pull()) break;
      const n = Math.min(len - got, this.stageLen - this.stageOff);
      out.set(this.stage.subarray(this.stageOff, this.stageOff + n), offset + got);
      this.stageOff += n;
      got += n;
    }
    this.delivered += got;
    return got;
  }

  /** Back to the first byte, for another pass. */
  reset(): void {
    closeNative(this.z);
    this.z = openNative();
    this.error = null;
    this.delivered = 0;
    this.inBase = this.inOff = this.inLen = 0;
    this.stageOff = this.stageLen = 0;
    this.done = false;
    this.skip = 0;
    this.carefulFrom = -1;
    this.emitted = 0;
    this.lastFull = false;
  }

  close(): void {
    closeNative(this.z);
    this.done = true;
  }

  /** Inflate into the stage until it holds something; false at the end of the stream. */
  private pull(): boolean {
    for (;;) {
      if (this.done) return false;
      const z = this.z;
      let flush: number = zlib.constants.Z_NO_FLUSH;
      if (this.inOff === this.inLen) {
        this.inBase += this.inLen;
        this.inOff = 0;
        const careful = this.carefulFrom >= 0 && this.inBase >= this.carefulFrom;
        const want = careful ? 1 : this.carefulFrom > this.inBase ? Math.min(INPUT_BYTES, this.carefulFrom - this.inBase) : INPUT_BYTES;
        this.inLen = this.readAt(this.input, 0, want, this.inBase);
        // No more compressed bytes: once zlib's pending output is out (the last call did not
        // fill the stage), finishing tells a complete stream from a cut one.
        if (this.inLen === 0 && !this.lastFull) flush = zlib.constants.Z_FINISH;
      }
      const callStart = this.inBase + this.inOff;
      const avail = this.inLen - this.inOff;
      z.handle.writeSync(flush, this.input, this.inOff, avail, this.stage, 0, STAGE_BYTES);
      if (z.failure !== null) {
        this.failed(z.failure, callStart, avail);
        continue;
      }
      const made = STAGE_BYTES - z.state[0];
      this.inOff += avail - z.state[1];
      this.lastFull = made === STAGE_BYTES;
      if (flush === zlib.constants.Z_FINISH && !this.lastFull) this.done = true;
      const dropped = Math.min(this.skip, made);
      this.skip -= dropped;
      this.emitted += made - dropped;
      if (made > dropped) {
        this.stageOff = dropped;
        this.stageLen = made;
        return true;
      }
    }
  }

  /** zlib failed on the call fed from `callStart`: restart once to recover that call's output, else end. */
  private failed(reason: string, callStart: number, fed: number): void {
    // A failed finish (fed nothing) lost nothing: the call before it emitted all zlib had.
    if (this.carefulFrom < 0 && fed > 0) {
      // Inflate again from the start, dropping what was delivered, then byte by byte from callStart.
      closeNative(this.z);
      this.z = openNative();
      this.skip = this.emitted;
      this.emitted = 0;
      this.stageOff = this.stageLen = 0;
      this.inBase = this.inOff = this.inLen = 0;
      this.lastFull = false;
      this.carefulFrom = callStart;
      return;
    }
    this.done = true;
    const what = fed === 0 ? 'gzip data cut short' : 'corrupt gzip data';
    this.error = `${what} at compressed byte ${callStart} (after ${this.emitted} bytes inflated): ${reason}`;
  }
}
