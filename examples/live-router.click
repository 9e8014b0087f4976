// hetbox's live router: routes IPv4 between two Linux interfaces through the multi-FIB.
//
//   ra  10.1.0.0/24, host A 10.1.0.2 (02:00:00:00:0a:02); the router is 02:00:00:00:01:01
//   rb  10.2.0.0/24, host B 10.2.0.2 (02:00:00:00:0b:02); the router is 02:00:00:00:02:01
//
// Packets are received from each interface's memory-mapped ring (FromDevice), checked, looked
// up, their TTL decremented, given the next host's Ethernet header in their ring headroom and
// sent from the ring (ToDevice): no copy. The router answers no ARP: hosts use static neighbour
// entries for it. scripts/live-demo.sh builds namespaces and veth pairs for this and runs it:
//   ip netns exec ROUTER-NS hetbox run examples/live-router.click
// Stop it with Ctrl-C (or --control ADDR and WRITE inA.stop / inB.stop).

inA :: FromDevice(ra, FORCE_IP true);
inB :: FromDevice(rb, FORCE_IP true);

inA -> rxA :: Counter -> Strip(14) -> chkA :: CheckIPHeader -> rtA :: IPLookup(10.1.0.0/24 0, 10.2.0.0/24 1);
inB -> rxB :: Counter -> Strip(14) -> chkB :: CheckIPHeader -> rtB :: IPLookup(10.1.0.0/24 0, 10.2.0.0/24 1);

toA :: DecIPTTL;
toB :: DecIPTTL;
rtA[0] -> toA;
rtB[0] -> toA;
rtA[1] -> toB;
rtB[1] -> toB;

toA[0] -> EtherEncap(0x0800, 02:00:00:00:01:01, 02:00:00:00:0a:02) -> txA :: Counter -> outA :: ToDevice(ra);
toB[0] -> EtherEncap(0x0800, 02:00:00:00:02:01, 02:00:00:00:0b:02) -> txB :: Counter -> outB :: ToDevice(rb);
toA[1] -> expiredA :: Discard;
toB[1] -> expiredB :: Discard;
