#!/usr/bin/python3
"""Load for kvs-local's memory checks (tests/e2e/kvs_local_memory.sh).

  kvs_local_load.py stream ENDPOINT STREAM SECONDS MBPS
        one PutMedia of SECONDS of synthetic Matroska at MBPS megabits per
        second, paced by the clock: one-second fragments of 25 frames;
        prints the bytes sent and the ACKs counted
  kvs_local_load.py slowread ENDPOINT STREAM SECONDS KBPS
        a live GetMedia (StartSelector NOW) read at only KBPS kilobytes
        per second for SECONDS; prints the bytes read

Requests are signed by botocore (kvs_client.sign)."""
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvs_client import (Response, block, cluster, connect, header,  # noqa: E402
                        sign)


def stream(endpoint, name, seconds, mbps):
    sock, u = connect(endpoint)
    headers = {
        "Host": u.netloc,
        "x-amzn-stream-name": name,
        "x-amzn-fragment-timecode-type": "RELATIVE",
        "x-amzn-producer-start-timestamp": "%.3f" % time.time(),
        "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD",
        "Transfer-Encoding": "chunked",
    }
    signed = sign("POST", endpoint + "/putMedia", headers)
    sock.sendall(("POST /putMedia HTTP/1.1\r\n" + "".join(
        "%s: %s\r\n" % kv for kv in signed.items()) + "\r\n").encode())
    acks = {}

    def reader():
        buf = b""
        for c in Response(sock).chunks():
            buf += c
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    t = json.loads(line)["EventType"]
                    acks[t] = acks.get(t, 0) + 1

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    frame = int(mbps * 1e6 / 8 / 25)  # bytes per frame at 25 fps
    sent = 0
    start = time.time()

    def send(data):
        nonlocal sent
        for i in range(0, len(data), 65536):
            piece = data[i:i + 65536]
            sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
        sent += len(data)

    send(header())
    for sec in range(int(seconds)):
        blocks = [block(i * 40, i == 0, size=frame) for i in range(25)]
        send(cluster(sec * 1000, blocks))
        delay = start + sec + 1 - time.time()
        if delay > 0:
            time.sleep(delay)
    sock.sendall(b"0\r\n\r\n")
    t.join(30)
    print("sent %d bytes in %.1f s (%.1f Mbit/s), acks %s" % (
        sent, time.time() - start, sent * 8 / 1e6 / (time.time() - start),
        json.dumps(acks, sort_keys=True)), flush=True)
    return 0 if acks.get("RECEIVED", 0) >= int(seconds) - 1 else 1


def slowread(endpoint, name, seconds, kbps):
    sock, u = connect(endpoint)
    body = json.dumps({"StreamName": name,
                       "StartSelector": {"StartSelectorType": "NOW"}}).encode()
    headers = {"Host": u.netloc, "Content-Type": "application/json"}
    signed = sign("POST", endpoint + "/getMedia", headers, body)
    signed["Content-Length"] = str(len(body))
    sock.sendall(("POST /getMedia HTTP/1.1\r\n" + "".join(
        "%s: %s\r\n" % kv for kv in signed.items()) + "\r\n").encode() + body)
    got = 0
    start = time.time()
    step = max(1, int(kbps * 1024 / 10))
    while time.time() - start < seconds:
        data = sock.recv(step)
        if not data:
            break
        got += len(data)
        time.sleep(0.1)
    print("read %d bytes in %.1f s (%.0f KB/s)" % (
        got, time.time() - start, got / 1024 / (time.time() - start)),
        flush=True)
    sock.close()
    return 0 if got > 0 else 1


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "stream":
        return stream(a[0], a[1], float(a[2]), float(a[3]))
    if cmd == "slowread":
        return slowread(a[0], a[1], float(a[2]), float(a[3]))
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
