{
  "targets": [
    {
      "target_name": "packet_ring",
      "sources": ["packet-ring.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"]
    }
  ]
}
