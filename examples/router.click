// hetbox's demo: a two-port IPv4 router (what `npm start` runs).
//
// Reads a capture, keeps IPv4, checks headers, looks each destination up in routes.txt,
// decrements the TTL (RFC 1624 checksum update) and writes what it routed to data/routed.pcap
// (tshark/Wireshark read it). Swap the files with FILE arguments; try `--backend webgpu` or
// `--backend fpga` to run the lookup kernel elsewhere, `--control 7777` to watch the handlers.

src :: FromDump(FILE data/input.pcap, STOP true);
cls :: Classifier(12/0800, -);
chk :: CheckIPHeader;
rt  :: IPLookup(FIB routes.txt, FORMAT click);
ttl :: DecIPTTL;
out :: ToDump(FILE data/routed.pcap);

src -> rx :: Counter -> cls;
cls[0] -> Strip(14) -> chk -> rt;
cls[1] -> nonip :: Discard;
rt[0] -> lan :: Counter -> ttl;
rt[1] -> uplink :: Counter -> ttl;
ttl[0] -> Unstrip(14) -> tx :: Counter -> out;
ttl[1] -> expired :: Discard;
