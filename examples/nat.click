// A NAPT on hetbox's flow subsystem: fragments reassembled, each packet classified once into a
// flow, the mapping kept in the flow's flow-local storage (IPRewriter), checksums updated
// incrementally. Forward packets (source rewritten to 192.0.2.1, ports from 20000-29999) go to
// data/nat-out.pcap; replies that arrive for the public tuple are rewritten back and written to
// data/nat-back.pcap. (example.pcap was not captured behind a NAT: its replies still carry the
// original tuple, so they pass unchanged on output 1 and count as `passed`.) `--control 7777` shows the handlers (fm.size, fm.inserts, nat.mappings ...).

src :: FromDump(FILE ../../shared/data/pcaps/pcapplusplus/example.pcap, STOP true);
frag :: IPReassembler(TIMEOUT 30);
fm :: FlowIPManager(CAPACITY 65536, POLICY evict);
nat :: IPRewriter(pattern 192.0.2.1 20000-29999 - - 0 1);

src -> frag -> fm -> nat;
nat[0] -> ToDump(FILE data/nat-out.pcap);
nat[1] -> ToDump(FILE data/nat-back.pcap);
