// Two virtual routers in one multi-FIB: traffic to UDP is routed by the "blue" table, the rest
// by the "red" one. Both tables live in one image that stores what they share once
// (`hetbox ctl ... read rt.memory` shows the sharing). Run after `npm run setup`:
//   npx hetbox run examples/vrf-router.click
// and try `--backend webgpu` or `--backend fpga`: the same image is looked up there.

src :: FromDump(FILE data/input.pcap, STOP true);
cls :: Classifier(9/11, -);                  // IPv4 protocol byte (offset 9 after Strip) is UDP
rt  :: IPLookup(FIBS red=routes.txt blue=routes-blue.txt, FORMAT click);

src -> Strip(14) -> CheckIPHeader -> cls;
cls[0] -> Paint(1, ANNO vrf) -> blue :: Counter -> rt;
cls[1] -> Paint(0, ANNO vrf) -> red :: Counter -> rt;
rt[0] -> lan :: Counter -> Discard;
rt[1] -> uplink :: Counter -> Discard;
