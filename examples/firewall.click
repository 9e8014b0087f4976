// A stateless IPv4 firewall: the first matching rule of data/firewall.rules decides.
//
// Reads a capture, keeps IPv4, checks headers and runs each packet through the ACL (128 rules
// in ClassBench format, made by scripts/gen-acl-rules.ts: host pairs, a source blocklist from a
// real route table, services, replies). What no rule matches is denied (DEFAULT deny). Allowed
// and denied packets are counted and discarded; put a ToDump after `allowed` to keep them. Try
// `--backend webgpu` to run the match kernel on a GPU, `--control 7777` to read acl.hits and
// acl.rules, or to write acl.reload after editing the rules.

src :: FromDump(FILE data/input.pcap, STOP true);
cls :: Classifier(12/0800, -);
chk :: CheckIPHeader;
acl :: ACL(RULES data/firewall.rules, DEFAULT deny);

src -> rx :: Counter -> cls;
cls[0] -> Strip(14) -> chk -> acl;
cls[1] -> nonip :: Discard;
acl[0] -> allowed :: Counter -> Discard;
acl[1] -> denied :: Counter -> Discard;
