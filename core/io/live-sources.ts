/**
 * Live sources of one process, and the one wake-up they share.
 *
 * The scheduler asks its sources for batch n one after the other. A live source with nothing
 * to read must not hold batch n back while another interface has packets, and must not spin
 * while all are idle. So an idle source waits on this registry: it wakes as soon as any live
 * source of the process becomes readable (each one's socket armed on the event loop), or
 * something else changes (blocks released, a stop requested), and then answers with an empty
 * batch if its own ring is still empty, letting the scheduler move on to the source that has
 * packets. No timer is involved.
 *
 * Sequence numbers are shared by all sources, and batch n completes (and its ring blocks go
 * back to the kernel) only once every source has answered n. So once one live source has put
 * packets into batch n, the others answer n at once, empty if they have nothing, rather than
 * wait for their own traffic and hold those packets up.
 */
export interface LiveSource {
  /** Packets are ready now (a filled block, or the rest of a block being handed out). */
  hasPackets(): boolean;
  /**
   * Arm the source's readiness on the event loop (resolves when it may have packets), or null
   * when it must not be armed now (it is finished, or its readiness would fire for blocks it
   * still holds: it then waits for their release, which wakes the registry).
   */
  armReadable(): Promise<void> | null;
}

const sources = new Set<LiveSource>();
/** The latest sequence number a live source put packets into. */
let contributedSeq = -1;

/** A live source put packets into batch `seq`. */
export function noteLiveContribution(seq: number): void {
  if (seq > contributedSeq) contributedSeq = seq;
}

/** Whether some live source already put packets into batch `seq` (the rest should not wait). */
export function liveSeqHasPackets(seq: number): boolean {
  return contributedSeq === seq;
}
let wakeAll: (() => void) | null = null;
let current: Promise<void> | null = null;

export function registerLiveSource(s: LiveSource): void {
  sources.add(s);
}

export function unregisterLiveSource(s: LiveSource): void {
  sources.delete(s);
  wakeLiveSources();
}

/** Whether any registered live source other than `self` has packets ready. */
export function otherLiveSourceReady(self: LiveSource): boolean {
  for (const s of sources) if (s !== self && s.hasPackets()) return true;
  return false;
}

/** Wake every waiting live source (blocks released, a stop, a source gone). */
export function wakeLiveSources(): void {
  const w = wakeAll;
  wakeAll = null;
  current = null;
  w?.();
}

/** Resolves when any live source may have packets, or on `wakeLiveSources`. */
export function waitForLiveSources(): Promise<void> {
  if (current === null) current = new Promise<void>((resolve) => (wakeAll = resolve));
  const p = current;
  for (const s of sources) s.armReadable()?.then(wakeLiveSources);
  return p;
}
