/**
 * `hetbox flows CAPTURE [--json] [--capacity N]`: one line per flow of a capture, diffable
 * against Zeek's conn.log.
 *
 * TSV output opens with Zeek-style `#fields` and `#types` lines, then one line per flow, in
 * order of first packet:
 *   ts             first packet time (seconds, 6 decimals)
 *   community_id   Community-ID v1 (seed 0, base64): the same as Zeek's and Suricata's
 *   id.orig_h, id.orig_p, id.resp_h, id.resp_p   originator (sender of the first packet) and
 *                  responder; ICMP ports are type and code ('-' for protocols without ports)
 *   proto          tcp, udp, icmp, sctp or the protocol number
 *   duration       last minus first packet time
 *   orig_pkts, orig_ip_bytes, resp_pkts, resp_ip_bytes   packets and IP bytes per direction
 *   conn_state     Zeek's conn_state (S0, S1, SF, REJ, S2, S3, RSTO, RSTR, SH, OTH; S0/SF for non-TCP)
 *   last_ts        last packet time
 *   ended          expired (idle past its timeout), evicted, or final (end of capture)
 * With --json, one JSON object per flow per line (Zeek's JSON log style), the same fields.
 * Fragments are reassembled before classification. Timeouts are FlowIPManager's defaults.
 */
import { flowLog, formatFlowRecord, FLOW_LOG_COLUMNS } from '../../core/flows/flow-log.js';
import { parseFlags } from './parse-flags.js';
import { UsageError } from './usage-error.js';

export async function flowsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { json: { type: 'boolean' }, capacity: { type: 'string' } });
  if (positionals.length !== 1) throw new UsageError('usage: hetbox flows CAPTURE [--json] [--capacity N]');
  const capacity = values.capacity === undefined ? undefined : Number(values.capacity);
  if (capacity !== undefined && !(Number.isInteger(capacity) && capacity >= 1)) throw new UsageError(`--capacity: expected a positive integer, got '${values.capacity}'`);
  const r = flowLog(positionals[0], { capacity });
  const lines: string[] = [];
  if (values.json) {
    for (const rec of r.records) lines.push(JSON.stringify(rec));
  } else {
    lines.push(`#fields\t${FLOW_LOG_COLUMNS.join('\t')}`);
    lines.push('#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tinterval\tcount\tcount\tcount\tcount\tstring\ttime\tstring');
    for (const rec of r.records) lines.push(formatFlowRecord(rec));
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  process.stderr.write(`${r.records.length} flows from ${r.packets} packets (${r.nonIp} not IP, ${r.fragmentsHeld} fragments incomplete, ${r.fragmentsDropped} fragments dropped)\n`);
  return 0;
}
