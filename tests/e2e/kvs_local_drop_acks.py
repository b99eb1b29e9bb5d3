#!/usr/bin/python3
"""A PutMedia that kvs-local cuts (--drop-after) must not lose the ACKs it
sent before the cut: every fragment stored has its RECEIVED or PERSISTED
ACK on the connection that carried it, else a producer sends it again and
the stream holds it twice. The client reads no ACK until it has written
its whole body, through a small receive window, so the ACKs wait in
kvs-local's socket, where a reset (a close with unread data) would
discard them. No signatures: start kvs-local without keys.

  kvs_local_drop_acks.py HOST PORT STREAM FRAGMENTS [PACE]
      FRAGMENTS one-block fragments of about 1 KB in one HTTP chunk;
      written at once, or in 8 KiB pieces over PACE seconds (a producer
      that goes on uploading, ACKs unread, after the cut)

Prints what it saw; exit 0 when no stored fragment lacks its ACK."""
import json
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvs_client import block, cluster, header  # noqa: E402


def call(host, port, op, body):
    data = json.dumps(body).encode()
    s = socket.create_connection((host, port))
    s.sendall(b"POST /%s HTTP/1.1\r\nHost: %s:%d\r\n"
              b"Content-Type: application/json\r\nContent-Length: %d\r\n"
              b"Connection: close\r\n\r\n" % (op.encode(), host.encode(), port,
                                             len(data)) + data)
    resp = b""
    while b"\r\n\r\n" not in resp:
        b = s.recv(65536)
        if not b:
            sys.exit("%s: connection closed before the answer" % op)
        resp += b
    head, _, body = resp.partition(b"\r\n\r\n")
    m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    want = int(m.group(1)) if m else 0
    while len(body) < want:
        b = s.recv(65536)
        if not b:
            break
        body += b
    s.close()
    status = int(head.split()[1])
    return status, json.loads(body) if body else {}


def main():
    host, port, stream, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    pace = float(sys.argv[5]) if len(sys.argv) > 5 else 0
    st, _ = call(host, port, "createStream",
                 {"StreamName": stream, "DataRetentionInHours": 2})
    if st != 200:
        sys.exit("createStream: HTTP %d" % st)
    mkv = header() + b"".join(
        cluster(1000 * (i + 1), [block(0, size=900)]) for i in range(n))
    s = socket.socket()
    # A small receive window: ACKs pile up unsent in kvs-local's socket,
    # so a reset there (rather than a FIN) would throw them away.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.connect((host, port))
    head = ("POST /putMedia HTTP/1.1\r\nHost: %s:%d\r\n"
            "x-amzn-stream-name: %s\r\n"
            "x-amzn-fragment-timecode-type: ABSOLUTE\r\n"
            "x-amzn-producer-start-timestamp: %.3f\r\n"
            "x-amzn-fragment-acknowledgment-required: 1\r\n"
            "Transfer-Encoding: chunked\r\n\r\n" %
            (host, port, stream, time.time())).encode()
    # The whole body in one chunk, written before reading anything.
    req = head + b"%x\r\n" % len(mkv) + mkv + b"\r\n0\r\n\r\n"
    piece = 8192 if pace else len(req)
    try:
        for off in range(0, len(req), piece):
            s.sendall(req[off:off + piece])
            if pace:
                time.sleep(pace * piece / len(req))
    except OSError as e:
        print("send: %s" % e)
    resp = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            resp += b
    except OSError as e:
        print("recv: %s" % e)
    s.close()
    acked = set()
    for m in re.finditer(rb'\{"EventType":"(RECEIVED|PERSISTED)"[^}]*'
                         rb'"FragmentNumber":"(\d+)"', resp):
        acked.add(m.group(2).decode())
    st, lf = call(host, port, "listFragments", {"StreamName": stream})
    if st != 200:
        sys.exit("listFragments: HTTP %d" % st)
    stored = [f["FragmentNumber"] for f in lf["Fragments"]]
    missing = [f for f in stored if f not in acked]
    print("%d fragments sent, %d stored, %d acknowledged, %d stored "
          "without an ACK" % (n, len(stored), len(acked), len(missing)))
    if not stored:
        sys.exit("nothing stored")
    sys.exit(1 if missing else 0)


main()
