/*
 * packet_ring: the I/O half of hetbox's FromDevice / ToDevice, as a small N-API addon.
 *
 * It does only what needs the kernel: open an AF_PACKET socket on an interface (optionally in a
 * named network namespace), map a TPACKET_V3 receive ring and hand it to JavaScript as one
 * external ArrayBuffer (zero copy: JS walks the block and packet headers itself), give blocks
 * back to the kernel, read PACKET_STATISTICS, join a PACKET_FANOUT group, send a batch with one
 * sendmmsg, and tell the event loop when the socket is readable or writable (a one-shot uv_poll,
 * so Node never blocks). Every decision (batching, accounting, drop reasons) is in TypeScript
 * (core/io/packet-ring.ts).
 *
 * Errors are thrown as JS errors whose `code` is the errno name (EPERM, ENODEV, ...), so the
 * TypeScript side can name the missing capability.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

typedef struct {
  int fd;
  int ifindex;
  uint8_t *map;
  size_t map_len;
  uint32_t block_size;
  uint32_t block_count;
  uint32_t cursor; /* next block to hand to JS */
  uint8_t *handed; /* per block: handed to JS and not yet released (its status still reads USER) */
  uint64_t packets, drops, freezes; /* PACKET_STATISTICS, accumulated (the kernel resets on read) */
  uv_poll_t *poll;
  napi_env env;
  napi_ref callback;
  int closed;
} ring_t;

/* ---- error helpers ---- */

static napi_value throw_errno(napi_env env, int err, const char *what) {
  char msg[256];
  const char *name = NULL;
  switch (err) {
    case EPERM: name = "EPERM"; break;
    case EACCES: name = "EACCES"; break;
    case ENODEV: name = "ENODEV"; break;
    case ENOENT: name = "ENOENT"; break;
    case EINVAL: name = "EINVAL"; break;
    case ENOMEM: name = "ENOMEM"; break;
    case EBUSY: name = "EBUSY"; break;
    case ENETDOWN: name = "ENETDOWN"; break;
    case ENXIO: name = "ENXIO"; break;
    default: name = "EIO"; break;
  }
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, name, msg);
  return NULL;
}

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "packet_ring: N-API call failed");  \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static ring_t *get_ring(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, NULL, "packet_ring: expected a ring handle");
    return NULL;
  }
  return (ring_t *)p;
}

/* The property `key` of obj into *v: 1 when it is there and neither undefined nor null, 0 when
 * it is absent (the caller keeps its default), -1 on an N-API error. */
static int find_prop(napi_env env, napi_value obj, const char *key, napi_value *v) {
  bool has = false;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok || !has) return 0;
  if (napi_get_named_property(env, obj, key, v) != napi_ok) return -1;
  napi_valuetype t;
  napi_typeof(env, *v, &t);
  return t == napi_undefined || t == napi_null ? 0 : 1;
}

static int get_u32_prop(napi_env env, napi_value obj, const char *key, uint32_t dflt, uint32_t *out) {
  napi_value v;
  *out = dflt;
  int r = find_prop(env, obj, key, &v);
  if (r <= 0) return r;
  return napi_get_value_uint32(env, v, out) == napi_ok ? 0 : -1;
}

static int get_i32_prop(napi_env env, napi_value obj, const char *key, int32_t dflt, int32_t *out) {
  napi_value v;
  *out = dflt;
  int r = find_prop(env, obj, key, &v);
  if (r <= 0) return r;
  return napi_get_value_int32(env, v, out) == napi_ok ? 0 : -1;
}

/* A string property into buf ("" when absent). */
static int get_str_prop(napi_env env, napi_value obj, const char *key, char *buf, size_t len) {
  napi_value v;
  size_t n = 0;
  buf[0] = 0;
  int r = find_prop(env, obj, key, &v);
  if (r <= 0) return r;
  return napi_get_value_string_utf8(env, v, buf, len, &n) == napi_ok ? 0 : -1;
}

/* ---- network namespace: the socket is created inside it, then this thread goes back ---- */

static int enter_netns(const char *name, int *saved) {
  char path[PATH_MAX];
  *saved = -1;
  if (name[0] == 0) return 0;
  if (name[0] == '/') snprintf(path, sizeof path, "%s", name);
  else snprintf(path, sizeof path, "/var/run/netns/%s", name);
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) return -errno;
  *saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (*saved < 0) {
    int e = errno;
    close(target);
    return -e;
  }
  if (setns(target, CLONE_NEWNET) < 0) {
    int e = errno;
    close(target);
    close(*saved);
    *saved = -1;
    return -e;
  }
  close(target);
  return 0;
}

static void leave_netns(int saved) {
  if (saved < 0) return;
  if (setns(saved, CLONE_NEWNET) < 0) {
    /* Staying in the wrong namespace would send every later socket there: stop loudly. */
    perror("packet_ring: cannot return to the original network namespace");
    abort();
  }
  close(saved);
}

/* ---- open ---- */

static void finalize_map(napi_env env, void *data, void *hint) {
  munmap(data, (size_t)(uintptr_t)hint);
}

static void finalize_ring(napi_env env, void *data, void *hint) {
  ring_t *r = (ring_t *)data;
  /* The poll handle (if any) was closed by close(); its close callback frees it. */
  if (!r->closed && r->fd >= 0) close(r->fd);
  free(r->handed);
  free(r);
}

/*
 * open(ifname, {netns, rx, blockSize, blockCount, frameSize, retireMs, promisc, ignoreOutgoing,
 *               fanoutGroup, fanoutMode, snaplen})
 *   -> {handle, ring: ArrayBuffer | null, ifindex, blockSize, blockCount, mac: ArrayBuffer(6)}
 */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char ifname[64], netns[PATH_MAX];
  size_t n;
  if (napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "packet_ring.open: interface name must be a string");
    return NULL;
  }
  if (n == 0 || n >= IFNAMSIZ) return throw_errno(env, EINVAL, "interface name (1 to 15 characters)");
  uint32_t rx, block_size, block_count, frame_size, retire_ms, promisc, ignore_out, snaplen;
  int32_t fanout_group, fanout_mode;
  if (get_str_prop(env, argv[1], "netns", netns, sizeof netns) || get_u32_prop(env, argv[1], "rx", 1, &rx) ||
      get_u32_prop(env, argv[1], "blockSize", 1 << 18, &block_size) ||
      get_u32_prop(env, argv[1], "blockCount", 64, &block_count) ||
      get_u32_prop(env, argv[1], "frameSize", 2048, &frame_size) ||
      get_u32_prop(env, argv[1], "retireMs", 1, &retire_ms) || get_u32_prop(env, argv[1], "promisc", 0, &promisc) ||
      get_u32_prop(env, argv[1], "ignoreOutgoing", 1, &ignore_out) ||
      get_u32_prop(env, argv[1], "snaplen", 0, &snaplen) ||
      get_i32_prop(env, argv[1], "fanoutGroup", -1, &fanout_group) ||
      get_i32_prop(env, argv[1], "fanoutMode", PACKET_FANOUT_HASH, &fanout_mode)) {
    napi_throw_type_error(env, NULL, "packet_ring.open: bad option");
    return NULL;
  }

  int saved;
  int e = enter_netns(netns, &saved);
  if (e < 0) return throw_errno(env, -e, "network namespace");

  int fd = -1, err = 0;
  const char *what = "";
  uint8_t *map = MAP_FAILED;
  size_t map_len = (size_t)block_size * block_count;
  unsigned char mac[6] = {0};
  int ifindex = 0;

  /* Protocol 0: nothing is queued until bind() names the interface, after the ring is set up. */
  fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) { err = errno; what = "socket(AF_PACKET, SOCK_RAW)"; goto fail; }
  ifindex = (int)if_nametoindex(ifname);
  if (ifindex == 0) { err = errno; what = "interface"; goto fail; }
  {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, ifname, n + 1);
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0) memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  }
  if (rx) {
    int v = TPACKET_V3;
    if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v) < 0) { err = errno; what = "PACKET_VERSION"; goto fail; }
    struct tpacket_req3 req;
    memset(&req, 0, sizeof req);
    req.tp_block_size = block_size;
    req.tp_block_nr = block_count;
    req.tp_frame_size = frame_size;
    req.tp_frame_nr = (block_size / frame_size) * block_count;
    req.tp_retire_blk_tov = retire_ms;
    if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) { err = errno; what = "PACKET_RX_RING"; goto fail; }
    map = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (map == MAP_FAILED) { err = errno; what = "mmap of the receive ring"; goto fail; }
    if (ignore_out) {
      int one = 1;
      /* Without it the socket would also see what this process sends on the interface. */
      if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) { err = errno; what = "PACKET_IGNORE_OUTGOING"; goto fail; }
    }
    if (snaplen > 0) {
      struct sock_filter code[] = {{BPF_RET | BPF_K, 0, 0, snaplen}};
      struct sock_fprog prog = {1, code};
      if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0) { err = errno; what = "SO_ATTACH_FILTER (SNAPLEN)"; goto fail; }
    }
  }
  {
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = rx ? htons(ETH_P_ALL) : 0;
    sll.sll_ifindex = ifindex;
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) { err = errno; what = "bind"; goto fail; }
  }
  if (rx && promisc) {
    struct packet_mreq mr;
    memset(&mr, 0, sizeof mr);
    mr.mr_ifindex = ifindex;
    mr.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) { err = errno; what = "PACKET_ADD_MEMBERSHIP (PROMISC)"; goto fail; }
  }
  if (rx && fanout_group >= 0) {
    int arg = (fanout_group & 0xffff) | (fanout_mode << 16);
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) < 0) { err = errno; what = "PACKET_FANOUT"; goto fail; }
  }
  leave_netns(saved);

  ring_t *r = calloc(1, sizeof *r);
  if (r == NULL) { close(fd); if (map != MAP_FAILED) munmap(map, map_len); napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  r->fd = fd;
  r->ifindex = ifindex;
  r->map = rx ? map : NULL;
  r->map_len = rx ? map_len : 0;
  r->block_size = block_size;
  r->block_count = rx ? block_count : 0;
  r->env = env;
  r->handed = rx ? calloc(block_count, 1) : NULL;

  napi_value result, handle, ring, macbuf, tmp;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_external(env, r, finalize_ring, NULL, &handle));
  CHECK(napi_set_named_property(env, result, "handle", handle));
  if (rx) {
    CHECK(napi_create_external_arraybuffer(env, map, map_len, finalize_map, (void *)(uintptr_t)map_len, &ring));
  } else {
    CHECK(napi_get_null(env, &ring));
  }
  CHECK(napi_set_named_property(env, result, "ring", ring));
  void *macdata;
  CHECK(napi_create_arraybuffer(env, 6, &macdata, &macbuf));
  memcpy(macdata, mac, 6);
  CHECK(napi_set_named_property(env, result, "mac", macbuf));
  CHECK(napi_create_int32(env, ifindex, &tmp));
  CHECK(napi_set_named_property(env, result, "ifindex", tmp));
  CHECK(napi_create_uint32(env, r->block_size, &tmp));
  CHECK(napi_set_named_property(env, result, "blockSize", tmp));
  CHECK(napi_create_uint32(env, r->block_count, &tmp));
  CHECK(napi_set_named_property(env, result, "blockCount", tmp));
  return result;

fail:
  if (map != MAP_FAILED) munmap(map, map_len);
  if (fd >= 0) close(fd);
  leave_netns(saved);
  char where[128];
  snprintf(where, sizeof where, "%s on %s", what, ifname);
  return throw_errno(env, err, where);
}

/* ---- receive ring ---- */

static struct tpacket_block_desc *block_at(ring_t *r, uint32_t i) {
  return (struct tpacket_block_desc *)(r->map + (size_t)i * r->block_size);
}

/* nextBlock(handle) -> index of the next block the kernel has handed over, or -1. */
static napi_value js_next_block(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ring_t *r = get_ring(env, argv[0]);
  if (r == NULL) return NULL;
  int32_t idx = -1;
  if (!r->closed && r->map != NULL) {
    struct tpacket_block_desc *b = block_at(r, r->cursor);
    if (!r->handed[r->cursor] && (__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
      idx = (int32_t)r->cursor;
      r->handed[r->cursor] = 1;
      r->cursor = (r->cursor + 1) % r->block_count;
    }
  }
  CHECK(napi_create_int32(env, idx, &out));
  return out;
}

/* peekBlock(handle) -> true when nextBlock would return a block. */
static napi_value js_peek_block(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ring_t *r = get_ring(env, argv[0]);
  if (r == NULL) return NULL;
  bool ready = false;
  if (!r->closed && r->map != NULL)
    ready = !r->handed[r->cursor] && (__atomic_load_n(&block_at(r, r->cursor)->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0;
  CHECK(napi_get_boolean(env, ready, &out));
  return out;
}

/* releaseBlock(handle, index): the block goes back to the kernel. */
static napi_value js_release_block(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ring_t *r = get_ring(env, argv[0]);
  if (r == NULL) return NULL;
  uint32_t i;
  CHECK(napi_get_value_uint32(env, argv[1], &i));
  if (r->map != NULL && i < r->block_count && r->handed[i]) {
    r->handed[i] = 0;
    __atomic_store_n(&block_at(r, i)->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
  }
  return NULL;
}

/* stats(handle) -> [packets (drops included), drops, freezes], accumulated since open. */
static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out, v;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ring_t *r = get_ring(env, argv[0]);
  if (r == NULL) return NULL;
  if (!r->closed && r->map != NULL) {
    struct tpacket_stats_v3 st;
    socklen_t len = sizeof st;
    memset(&st, 0, sizeof st);
    if (getsockopt(r->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) return throw_errno(env, errno, "PACKET_STATISTICS");
    r->packets += st.tp_packets;
    r->drops += st.tp_drops;
    r->freezes += st.tp_freeze_q_cnt;
  }
  CHECK(napi_create_array_with_length(env, 3, &out));
  CHECK(napi_create_double(env, (double)r->packets, &v));
  CHECK(napi_set_element(env, out, 0, v));
  CHECK(napi_create_double(env, (double)r->drops, &v));
  CHECK(napi_set_element(env, out, 1, v));
  CHECK(napi_create_double(env, (double)r->freezes, &v));
  CHECK(napi_set_element(env, out, 2, v));
  return out;
}

/* ---- event loop: one-shot readiness ---- */

static void on_poll(uv_poll_t *h, int status, int events) {
  ring_t *r = (ring_t *)h->data;
  uv_poll_stop(h);
  if (r->callback == NULL) return;
  napi_env env = r->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, global, args[2];
  napi_ref ref = r->callback;
  r->callback = NULL;
  napi_get_reference_value(env, ref, &cb);
  napi_delete_reference(env, ref);
  napi_get_global(env, &global);
  napi_create_int32(env, status, &args[0]);
  napi_create_int32(env, (status < 0 ? 0 : ((events & UV_READABLE) ? 1 : 0) | ((events & UV_WRITABLE) ? 2 : 0)), &args[1]);
  napi_make_callback(env, NULL, global, cb, 2, args, NULL);
  napi_close_handle_scope(env, scope);
}

/* poll(handle, events (1 readable, 2 writable), callback(status, events)): calls back once. */
static napi_value js_poll(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ring_t *r = get_ring(env, argv[0]);
  if (r == NULL) return NULL;
  uint32_t ev;
  CHECK(napi_get_value_uint32(env, argv[1], &ev));
  if (r->closed) {
    napi_throw_error(env, "EBADF", "packet_ring.poll: socket closed");
    return NULL;
  }
  if (r->callback != NULL) {
    napi_throw_error(env, "EBUSY", "packet_ring.poll: a wait is already pending on this socket");
    return NULL;
  }
  if (r->poll == NULL) {
    uv_loop_t *loop;
    CHECK(napi_get_uv_event_loop(env, &loop));
    r->poll = malloc(sizeof *r->poll);
    if (r->poll == NULL || uv_poll_init_socket(loop, r->poll, r->fd) != 0) {
      free(r->poll);
      r->poll = NULL;
      napi_throw_error(env, "EIO", "packet_ring.poll: uv_poll_init failed");
      return NULL;
    }
    r->poll->data = r;
  }
  CHECK(napi_create_reference(env, argv[2], 1, &r->callback));
  int uvev = ((ev & 1) ? UV_READABLE : 0) | ((ev & 2) ? UV_WRITABLE : 0);
  int rc = uv_poll_start(r->poll, uvev, on_poll);
  if (rc != 0) {
    napi_delete_reference(env, r->callback);
    r->callback = NULL;
    napi_throw_error(env, "EIO", uv_strerror(rc));
    return NULL;
  }
  return NULL;
}

/* ---- transmit ---- */

#define SEND_STACK 256

/*
 * send(handle, data: Uint8Array, offsets: Int32Array, lengths: Int32Array, start, count)
 *   -> messages sent (>= 0; fewer than count when one failed: the next call reports why),
 *      or -errno when the first one failed (EAGAIN: socket buffer full; ENOBUFS: queue full).
 * One sendmmsg for the whole range.
 */
static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ring_t *r = get_ring(env, argv[0]);
  if (r == NULL) return NULL;
  napi_typedarray_type t;
  size_t len_data, len_off, len_len, boff;
  void *pdata, *poff, *plen;
  napi_value ab;
  CHECK(napi_get_typedarray_info(env, argv[1], &t, &len_data, &pdata, &ab, &boff));
  if (t != napi_uint8_array) { napi_throw_type_error(env, NULL, "send: data must be a Uint8Array"); return NULL; }
  CHECK(napi_get_typedarray_info(env, argv[2], &t, &len_off, &poff, &ab, &boff));
  if (t != napi_int32_array) { napi_throw_type_error(env, NULL, "send: offsets must be an Int32Array"); return NULL; }
  CHECK(napi_get_typedarray_info(env, argv[3], &t, &len_len, &plen, &ab, &boff));
  if (t != napi_int32_array) { napi_throw_type_error(env, NULL, "send: lengths must be an Int32Array"); return NULL; }
  uint32_t start, count;
  CHECK(napi_get_value_uint32(env, argv[4], &start));
  CHECK(napi_get_value_uint32(env, argv[5], &count));
  if ((size_t)start + count > len_off || (size_t)start + count > len_len) {
    napi_throw_range_error(env, NULL, "send: packet range outside the columns");
    return NULL;
  }
  if (r->closed) { napi_throw_error(env, "EBADF", "send: socket closed"); return NULL; }
  const int32_t *offs = (const int32_t *)poff + start;
  const int32_t *lens = (const int32_t *)plen + start;
  for (uint32_t i = 0; i < count; i++) {
    if (offs[i] < 0 || lens[i] < 0 || (size_t)offs[i] + (size_t)lens[i] > len_data) {
      napi_throw_range_error(env, NULL, "send: a packet window lies outside the arena");
      return NULL;
    }
  }
  struct mmsghdr stack_msgs[SEND_STACK];
  struct iovec stack_iov[SEND_STACK];
  struct mmsghdr *msgs = stack_msgs;
  struct iovec *iov = stack_iov;
  if (count > SEND_STACK) {
    msgs = calloc(count, sizeof *msgs);
    iov = calloc(count, sizeof *iov);
    if (msgs == NULL || iov == NULL) { free(msgs); free(iov); napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  } else {
    memset(msgs, 0, count * sizeof *msgs);
  }
  for (uint32_t i = 0; i < count; i++) {
    iov[i].iov_base = (uint8_t *)pdata + offs[i];
    iov[i].iov_len = (size_t)lens[i];
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int rc = count == 0 ? 0 : sendmmsg(r->fd, msgs, count, MSG_DONTWAIT);
  int e = errno;
  if (msgs != stack_msgs) { free(msgs); free(iov); }
  CHECK(napi_create_int32(env, rc < 0 ? -e : rc, &out));
  return out;
}

/* ---- close ---- */

static void on_poll_closed(uv_handle_t *h) { free(h); }

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ring_t *r = get_ring(env, argv[0]);
  if (r == NULL || r->closed) return NULL;
  if (r->callback != NULL) {
    napi_delete_reference(env, r->callback);
    r->callback = NULL;
  }
  if (r->poll != NULL) {
    uv_poll_stop(r->poll);
    uv_close((uv_handle_t *)r->poll, on_poll_closed);
    r->poll = NULL;
  }
  /* The ring stays mapped until its ArrayBuffer is collected; unbinding stops the kernel filling it. */
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = 0;
  sll.sll_ifindex = r->ifindex;
  (void)bind(r->fd, (struct sockaddr *)&sll, sizeof sll);
  close(r->fd);
  r->fd = -1;
  r->closed = 1;
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"nextBlock", NULL, js_next_block, NULL, NULL, NULL, napi_enumerable, NULL},
      {"peekBlock", NULL, js_peek_block, NULL, NULL, NULL, napi_enumerable, NULL},
      {"releaseBlock", NULL, js_release_block, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"poll", NULL, js_poll, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
