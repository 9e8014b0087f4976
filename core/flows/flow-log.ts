/**
 * One record per flow of a capture, in the shape of Zeek's conn.log: what `hetbox flows` prints.
 *
 * Fragments are reassembled first (as Zeek does), then every IP packet is classified in a
 * bidirectional flow table whose flow-local fields count packets and IP bytes per direction.
 * A flow's record is written when it ends: idle past its timeout (packet time), evicted, or
 * at the end of the capture. The originator is the sender of the flow's first packet.
 */
import { PcapReader } from '../pcap/pcap-reader.js';
import { FlowLayout } from '../structures/flow-table/flow-fields.js';
import { DEFAULT_TIMEOUTS, FlowTable, type FlowEndReason, type FlowTimeouts } from '../structures/flow-table/flow-table.js';
import { E_FIRST_NSEC, E_FIRST_SEC, E_KEY, E_LAST_NSEC, E_LAST_SEC, ENTRY_REVERSED } from '../structures/flow-table/flow-table-image.js';
import { KEY_WORDS, PROTO_TCP, canonicalizeKey, ipHeaderOffset, keyTuple, newPacketInfo, parseIpPacket } from './flow-key.js';
import { communityId } from './community-id.js';
import { TCP_STATE_MASK, connState } from './tcp-state.js';
import { COMPLETE, DROPPED, HELD, IPReassembly } from './ip-reassembly.js';

export interface FlowRecord {
  /** First packet time, seconds (Zeek's ts). */
  ts: number;
  community_id: string;
  'id.orig_h': string;
  'id.orig_p': number | null;
  'id.resp_h': string;
  'id.resp_p': number | null;
  proto: string;
  duration: number;
  orig_pkts: number;
  orig_ip_bytes: number;
  resp_pkts: number;
  resp_ip_bytes: number;
  conn_state: string;
  /** Last packet time, seconds. */
  last_ts: number;
  /** Why the record was written: expired, evicted or final (end of capture). */
  ended: FlowEndReason;
}

/** The TSV columns, in order (Zeek names where Zeek has the field). */
export const FLOW_LOG_COLUMNS: readonly (keyof FlowRecord)[] = ['ts', 'community_id', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'duration', 'orig_pkts', 'orig_ip_bytes', 'resp_pkts', 'resp_ip_bytes', 'conn_state', 'last_ts', 'ended'];

export interface FlowLogOptions {
  capacity?: number;
  timeouts?: Partial<FlowTimeouts>;
}

export interface FlowLogResult {
  records: FlowRecord[];
  packets: number;
  /** Packets without an IP header (not in any flow). */
  nonIp: number;
  fragmentsHeld: number;
  fragmentsDropped: number;
}

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmp', 132: 'sctp' };

export function flowLog(file: string, opts: FlowLogOptions = {}): FlowLogResult {
  const layout = new FlowLayout();
  const f = layout.declare('flows', [
    { name: 'op', type: 'u32' },
    { name: 'ob', type: 'u64' },
    { name: 'rp', type: 'u32' },
    { name: 'rb', type: 'u64' },
  ]);
  const table = new FlowTable({ capacity: opts.capacity ?? 1 << 20, layout, policy: 'evict', timeouts: { ...DEFAULT_TIMEOUTS, ...opts.timeouts } });
  const records: FlowRecord[] = [];
  const img = table.image;
  table.onEnd = (e, reason) => {
    const p = table.base(e);
    const key = img.slice(p + E_KEY, p + E_KEY + KEY_WORDS);
    const reversed = (img[p] & ENTRY_REVERSED) !== 0;
    const t = keyTuple(key, 0);
    const first = img[p + E_FIRST_SEC] + img[p + E_FIRST_NSEC] * 1e-9;
    const last = img[p + E_LAST_SEC] + img[p + E_LAST_NSEC] * 1e-9;
    records.push({
      ts: first,
      community_id: communityId(key, 0),
      'id.orig_h': reversed ? t.dst : t.src,
      'id.orig_p': reversed ? t.dport : t.sport,
      'id.resp_h': reversed ? t.src : t.dst,
      'id.resp_p': reversed ? t.sport : t.dport,
      proto: PROTO_NAMES[t.proto] ?? String(t.proto),
      duration: last - first,
      orig_pkts: table.get(e, f.op),
      orig_ip_bytes: table.get(e, f.ob),
      resp_pkts: table.get(e, f.rp),
      resp_ip_bytes: table.get(e, f.rb),
      conn_state: connState(img[p] & TCP_STATE_MASK, t.proto === PROTO_TCP),
      last_ts: last,
      ended: reason,
    });
  };
  const reasm = new IPReassembly();
  const info = newPacketInfo();
  const key = new Uint32Array(KEY_WORDS);
  const reader = PcapReader.open(file);
  let packets = 0;
  let nonIp = 0;
  for (let seq = 0, b = reader.nextBatch(0, 4096); b !== null; b = reader.nextBatch(++seq, 4096)) {
    for (let i = 0; i < b.count; i++) {
      packets++;
      let data = b.data;
      let start = b.offset[i];
      let end = start + b.length[i];
      let ip = ipHeaderOffset(data, start, b.length[i], b.linkType);
      if (ip < 0) {
        nonIp++;
        continue;
      }
      const r = reasm.push(data, start, end, ip, b.tsSec[i] + b.tsNsec[i] * 1e-9);
      if (r === HELD || r === DROPPED) continue;
      if (r === COMPLETE) {
        const whole = reasm.completed!;
        ip = ip - start;
        data = whole;
        start = 0;
        end = whole.length;
      }
      if (!parseIpPacket(data, ip, end, info, key, 0)) {
        nonIp++;
        continue;
      }
      const reversed = canonicalizeKey(key, 0);
      const e = table.classify(key, 0, reversed, b.tsSec[i], b.tsNsec[i], info.tcpFlags);
      if (e < 0) continue;
      const bytes = info.end - ip;
      if (table.lastReply) {
        table.add(e, f.rp, 1);
        table.add(e, f.rb, bytes);
      } else {
        table.add(e, f.op, 1);
        table.add(e, f.ob, bytes);
      }
    }
    reader.release(seq);
  }
  reader.close();
  table.finish();
  records.sort((a, b) => a.ts - b.ts || (a.community_id < b.community_id ? -1 : a.community_id > b.community_id ? 1 : 0));
  const dropped = Object.values(reasm.drops).reduce((s, v) => s + v, 0);
  return { records, packets, nonIp, fragmentsHeld: reasm.held, fragmentsDropped: dropped };
}

/** A record as a TSV line (Zeek's conventions: '-' for an unset field, times with 6 decimals). */
export function formatFlowRecord(r: FlowRecord): string {
  return FLOW_LOG_COLUMNS.map((c) => {
    const v = r[c];
    if (v === null) return '-';
    if (c === 'ts' || c === 'last_ts' || c === 'duration') return (v as number).toFixed(6);
    return String(v);
  }).join('\t');
}
