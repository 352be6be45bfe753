#!/usr/bin/env python3
"""A stand-in for systemd's notify socket, for tests: binds a unix datagram socket at argv[1]
(a path, or "@name" for an abstract name) and prints every datagram it receives as one JSON line,
{"pid": sender pid (SCM_CREDENTIALS), "msg": text, "t": arrival in ms (monotonic)}. Prints {"listening": true} once bound."""
import json
import socket
import struct
import sys
import time

addr = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
print(json.dumps({"listening": True}), flush=True)
creds_size = struct.calcsize("3i")
while True:
    data, anc, _flags, _addr = s.recvmsg(4096, socket.CMSG_SPACE(creds_size))
    pid = None
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("3i", payload[:creds_size])[0]
    print(json.dumps({"pid": pid, "msg": data.decode("utf8", "replace"), "t": time.monotonic() * 1000}), flush=True)
