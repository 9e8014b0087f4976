// The stdio framing both simulator harnesses speak (ip_lookup_harness.cpp, flow_harness.cpp):
// frames, both ways, are little-endian u32 words [byte length of the rest][type][id][payload].
// Included inside each harness's anonymous namespace, after its own includes (<algorithm>,
// <cstring>, <string>, <vector>, poll.h, unistd.h); the harness
// defines `handle`, which `pump` calls for every complete frame.
// build.ts hashes this file into both models' cache keys (names starting with `harness_`).

constexpr uint32_t T_INFO = 1, T_WRITE = 2, T_LOOKUP = 3, T_READ = 4, T_CONFIG = 5, T_ERROR = 15;
constexpr uint32_t TAG_MASK = 0xffff;
constexpr size_t MAX_FRAME = size_t(256) << 20;

uint64_t rng = 0x9e3779b97f4a7c15ull;
// Random back-pressure (CONFIG): result-side stalls and request-side bubbles, per mille.
uint32_t stall_permille = 0, gap_permille = 0;
std::vector<uint8_t> inbuf;
std::vector<uint8_t> outbuf;
bool stdin_open = true;

// Defined by each harness: one frame's work, whether the model has work queued, and one clock.
void handle(uint32_t type, uint32_t id, const uint8_t* p, size_t bytes);
bool busy();
void step();

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "hb-sim: %s\n", msg.c_str());
  std::exit(3);
}

uint32_t rand_permille() {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return uint32_t(rng % 1000);
}

uint32_t word_at(const uint8_t* p) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

void put(uint32_t w) {
  uint8_t b[4] = {uint8_t(w), uint8_t(w >> 8), uint8_t(w >> 16), uint8_t(w >> 24)};
  outbuf.insert(outbuf.end(), b, b + 4);
}

// Starts a frame; returns where its length goes so `end_frame` can fill it in.
size_t begin_frame(uint32_t type, uint32_t id) {
  size_t at = outbuf.size();
  put(0);
  put(type);
  put(id);
  return at;
}

void end_frame(size_t at) {
  uint32_t len = uint32_t(outbuf.size() - at - 4);
  std::memcpy(&outbuf[at], &len, 4);
}

void flush_out() {
  size_t off = 0;
  while (off < outbuf.size()) {
    ssize_t n = ::write(1, outbuf.data() + off, outbuf.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::exit(0);  // the host went away: nothing left to answer
    }
    off += size_t(n);
  }
  outbuf.clear();
}

void reply_error(uint32_t id, const std::string& msg) {
  size_t at = begin_frame(T_ERROR, id);
  outbuf.insert(outbuf.end(), msg.begin(), msg.end());
  while ((outbuf.size() - at) % 4 != 0) outbuf.push_back(0);
  end_frame(at);
}

// Reads what stdin has (blocking when `wait`), then handles every complete frame.
void pump(bool wait) {
  if (!stdin_open) return;
  struct pollfd pfd = {0, POLLIN, 0};
  int r = ::poll(&pfd, 1, wait ? -1 : 0);
  if (r <= 0) return;
  uint8_t tmp[1 << 16];
  ssize_t n = ::read(0, tmp, sizeof tmp);
  if (n == 0) {
    stdin_open = false;
    return;
  }
  if (n < 0) return;
  inbuf.insert(inbuf.end(), tmp, tmp + n);
  size_t off = 0;
  while (inbuf.size() - off >= 4) {
    uint32_t len = word_at(&inbuf[off]);
    if (len < 8 || len % 4 != 0 || len > MAX_FRAME) die("bad frame length " + std::to_string(len));
    if (inbuf.size() - off - 4 < len) break;
    const uint8_t* f = &inbuf[off + 4];
    handle(word_at(f), word_at(f + 4), f + 8, len - 8);
    off += 4 + len;
  }
  inbuf.erase(inbuf.begin(), inbuf.begin() + off);
}

// CONFIG's payload: stall_permille, gap_permille, seed.
void configure_backpressure(const uint8_t* p) {
  stall_permille = std::min<uint32_t>(word_at(p), 999);
  gap_permille = std::min<uint32_t>(word_at(p + 4), 999);
  rng = 0x9e3779b97f4a7c15ull ^ (uint64_t(word_at(p + 8)) * 0x2545f4914f6cdd1dull);
  if (rng == 0) rng = 1;
}

// Clocks the model while it has work (512 cycles between reads of stdin), sleeps in poll while
// it has none, and returns once the host has closed stdin and everything is answered.
void serve() {
  for (;;) {
    if (!busy()) {
      flush_out();
      if (!stdin_open) break;
      pump(true);
      continue;
    }
    for (int i = 0; i < 512 && busy(); i++) step();
    flush_out();
    pump(false);
  }
}
