/**
 * Whether a capture file can be read or written, found without reading it for a run: what
 * `hetbox check` asks of FromDump and ToDump so it rejects the paths `run` would reject.
 * Each returns the problem in words, or null when there is none.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isClassicMagic } from './classic-pcap.js';
import { isPcapngMagic } from './pcapng.js';

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return (e as Error).message;
}

/** A capture to read: a readable regular file starting with a pcap, pcapng or gzip magic. */
export function captureInputProblem(file: string): string | null {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    return `cannot read '${file}': ${reason(e)}`;
  }
  if (!st.isFile()) return `'${file}' is ${st.isDirectory() ? 'a directory' : 'not a regular file'}, not a capture file`;
  const head = new Uint8Array(4);
  let got: number;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      got = fs.readSync(fd, head, 0, 4, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    return `cannot read '${file}': ${reason(e)}`;
  }
  if (got >= 2 && head[0] === 0x1f && head[1] === 0x8b) return null;
  if (got < 4) return `'${file}' is not a pcap or pcapng file (${got === 0 ? 'empty' : `only ${got} bytes`})`;
  const view = new DataView(head.buffer);
  if (isClassicMagic(view) || isPcapngMagic(view)) return null;
  return `'${file}' is not a pcap or pcapng file (magic 0x${view.getUint32(0, false).toString(16).padStart(8, '0')})`;
}

/** A capture to write: its directory exists and is writable; an existing file is a writable regular file. */
export function captureOutputProblem(file: string): string | null {
  const dir = path.dirname(file);
  try {
    if (!fs.statSync(dir).isDirectory()) return `cannot write '${file}': '${dir}' is not a directory`;
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (e) {
    return `cannot write '${file}': directory '${dir}': ${reason(e)}`;
  }
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(file);
  } catch {
    return null;
  }
  if (st.isDirectory()) return `cannot write '${file}': it is a directory`;
  try {
    fs.accessSync(file, fs.constants.W_OK);
  } catch (e) {
    return `cannot write '${file}': ${reason(e)}`;
  }
  return null;
}
