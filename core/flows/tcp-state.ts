/**
 * TCP connection state as flag bits in a flow entry's status word, and the final state in
 * Zeek's conn_state vocabulary (so `hetbox flows` diffs against conn.log):
 *   S0 SYN seen, no reply; S1 established, not terminated; SF established and closed by FINs
 *   both ways; REJ SYN answered by RST; S2/S3 established, FIN from originator/responder only;
 *   RSTO/RSTR established, reset by originator/responder; SH originator SYN then FIN, no reply;
 *   OTH no SYN seen (a mid-stream capture). Non-TCP flows: S0 one-way, SF replied.
 * Zeek's states for half-seen handshakes (RSTOS0, RSTRH, SHR) fold into these.
 */
export const ORIG_SYN = 1 << 0;
export const RESP_SYNACK = 1 << 1;
export const ORIG_FIN = 1 << 2;
export const RESP_FIN = 1 << 3;
export const ORIG_RST = 1 << 4;
export const RESP_RST = 1 << 5;
export const RESP_SEEN = 1 << 6;
export const TCP_STATE_MASK = 0x7f;

const SYN = 0x02;
const ACK = 0x10;
const FIN = 0x01;
const RST = 0x04;

/** The status bits after one packet with TCP `flags` in direction `reply` (0 originator). */
export function tcpStateAfter(bits: number, flags: number, reply: boolean): number {
  if (reply) {
    bits |= RESP_SEEN;
    if ((flags & (SYN | ACK)) === (SYN | ACK)) bits |= RESP_SYNACK;
    if (flags & FIN) bits |= RESP_FIN;
    if (flags & RST) bits |= RESP_RST;
  } else {
    if ((flags & (SYN | ACK)) === SYN) bits |= ORIG_SYN;
    if (flags & FIN) bits |= ORIG_FIN;
    if (flags & RST) bits |= ORIG_RST;
  }
  return bits;
}

export function tcpEstablished(bits: number): boolean {
  return (bits & (ORIG_SYN | RESP_SYNACK)) === (ORIG_SYN | RESP_SYNACK);
}

export function tcpClosed(bits: number): boolean {
  return (bits & (ORIG_RST | RESP_RST)) !== 0 || (bits & (ORIG_FIN | RESP_FIN)) === (ORIG_FIN | RESP_FIN);
}

export function connState(bits: number, tcp: boolean): string {
  if (!tcp) return bits & RESP_SEEN ? 'SF' : 'S0';
  if (!(bits & ORIG_SYN)) return 'OTH';
  if (!(bits & RESP_SYNACK)) {
    if (bits & RESP_RST) return 'REJ';
    if (bits & ORIG_FIN) return 'SH';
    return 'S0';
  }
  if (bits & ORIG_RST) return 'RSTO';
  if (bits & RESP_RST) return 'RSTR';
  if ((bits & (ORIG_FIN | RESP_FIN)) === (ORIG_FIN | RESP_FIN)) return 'SF';
  if (bits & ORIG_FIN) return 'S2';
  if (bits & RESP_FIN) return 'S3';
  return 'S1';
}
