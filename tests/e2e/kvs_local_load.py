#!/usr/bin/python3
"""Load for kvs-local's memory checks (tests/e2e/kvs_local_memory.sh).

  kvs_local_load.py stream ENDPOINT STREAM SECONDS MBPS
        one PutMedia of SECONDS of synthetic Matroska at MBPS megabits per
        second, paced by the clock: one-second fragments of 25 frames;
        prints the bytes sent and the ACKs counted
  kvs_local_load.py slowread ENDPOINT STREAM SECONDS KBPS
        a live GetMedia (StartSelector NOW) read at only KBPS kilobytes
        per second for SECONDS; prints the bytes read
  kvs_local_load.py flood ENDPOINT STREAM SECONDS FRAGMENT_KB
        one PutMedia sending one-second fragments of FRAGMENT_KB as fast
        as it can (far faster than real time) for SECONDS of wall time;
        prints the fragments sent and the ACKs counted
  kvs_local_load.py producer ENDPOINT STREAM SECONDS MBPS
        a camera-like PutMedia paced by the clock: 30 frames per second,
        a key frame (5x the size) starting a 2-second fragment, MBPS on
        average; prints one JSON line with the ACK latencies in ms
        (PERSISTED, else RECEIVED, after the first bytes of the next
        fragment were sent: the moment the server can know a fragment
        ended) and their p50/p99
  kvs_local_load.py readers ENDPOINT SECONDS STREAM[:N|:Nearliest]...
        N live GetMedia readers (StartSelector NOW) per STREAM, or N that
        read the stream from EARLIEST again and again; prints one JSON
        line with the bytes and fragments' worth read
  kvs_local_load.py idle ENDPOINT STREAM
        one PutMedia that sends a header, one fragment and the start of
        a second, then nothing while keeping the connection open; prints
        every ACK and exits 0 once an ERROR ACK has ended the response

Requests are signed by botocore (kvs_client.sign)."""
import json
import os
import socket
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


def open_putmedia(endpoint, name, acks, lines=None, on_ack=None):
    """A chunked PutMedia whose ACKs a thread counts into acks (appends to
    lines, printing them; hands to on_ack); returns (sock, send, reader
    thread)."""
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

    def reader():
        buf = b""
        for c in Response(sock).chunks():
            buf += c
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    a = json.loads(line)
                    acks[a["EventType"]] = acks.get(a["EventType"], 0) + 1
                    if on_ack is not None:
                        on_ack(a)
                    if lines is not None:
                        lines.append(a)
                        print("ack", json.dumps(a), flush=True)

    t = threading.Thread(target=reader, daemon=True)
    t.start()

    def send(data):
        for i in range(0, len(data), 65536):
            piece = data[i:i + 65536]
            sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
    return sock, send, t


def flood(endpoint, name, seconds, fragment_kb):
    acks = {}
    sock, send, t = open_putmedia(endpoint, name, acks)
    frame = int(fragment_kb * 1024 / 25)
    blocks = [block(i * 40, i == 0, size=frame) for i in range(25)]
    send(header())
    start = time.time()
    n = 0
    while time.time() - start < seconds:
        send(cluster(n * 1000, blocks))
        n += 1
    sock.sendall(b"0\r\n\r\n")
    t.join(60)
    took = time.time() - start
    print("flood: %d fragments (%d s of media) in %.1f s, %.0fx real time, "
          "acks %s" % (n, n, took, n / took, json.dumps(acks, sort_keys=True)),
          flush=True)
    return 0 if acks.get("RECEIVED", 0) == n else 1


def idle(endpoint, name):
    acks, lines = {}, []
    sock, send, t = open_putmedia(endpoint, name, acks, lines)
    blocks = [block(i * 40, i == 0) for i in range(25)]
    # fragment 1 whole (it is complete once fragment 2 starts), then the
    # start of fragment 2, then silence
    send(header() + cluster(0, blocks) + cluster(1000, blocks[:3]))
    t.join(300)
    errors = [a for a in lines if a["EventType"] == "ERROR"]
    print("idle: acks %s, response %s" % (
        json.dumps(acks, sort_keys=True),
        "ended" if not t.is_alive() else "still open"), flush=True)
    sock.close()
    return 0 if errors and not t.is_alive() else 1


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def producer(endpoint, name, seconds, mbps):
    acks = {}
    sent_at = {}  # fragment timecode -> when the next fragment began
    latencies = []

    def on_ack(a):
        tc = a.get("FragmentTimecode")
        if a["EventType"] in ("PERSISTED", "RECEIVED") and tc in sent_at:
            latencies.append((tc, a["EventType"],
                              (time.time() - sent_at[tc]) * 1000))
    sock, send, t = open_putmedia(endpoint, name, acks, on_ack=on_ack)
    fps, gop = 30, 60
    frame = int(mbps * 1e6 / 8 / fps)
    key = frame * 5
    other = max(16, int((frame * gop - key) / (gop - 1)))
    send(header())
    start = time.time()
    n = 0
    prev_tc = None
    while time.time() - start < seconds:
        tc = n * 1000 * gop // fps
        for i in range(gop):
            due = start + (n * gop + i) / fps
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            data = block(i * 1000 // fps, i == 0, size=key if i == 0 else other)
            if i == 0:
                data = cluster(tc, [data])
                if prev_tc is not None:
                    sent_at[prev_tc] = time.time()
            send(data)
        prev_tc = tc
        n += 1
    sent_at[prev_tc] = time.time()
    sock.sendall(b"0\r\n\r\n")
    t.join(60)
    # PERSISTED where it came, else RECEIVED (retention 0)
    best = {}
    for tc, kind, ms in latencies:
        if kind == "PERSISTED" or tc not in best:
            best[tc] = ms
    vals = list(best.values())
    print(json.dumps({"stream": name, "fragments": n,
                      "acked": len(vals), "acks": acks,
                      "p50_ms": percentile(vals, 50),
                      "p99_ms": percentile(vals, 99),
                      "max_ms": max(vals) if vals else None,
                      "latencies_ms": [round(v, 1) for v in vals]}),
          flush=True)
    return 0 if len(vals) >= n - 1 else 1


def readers(endpoint, seconds, specs):
    total = {"bytes": 0, "connections": 0, "errors": 0}
    lock = threading.Lock()
    stop = time.time() + seconds

    def one(name, selector):
        while time.time() < stop:
            try:
                sock, u = connect(endpoint)
                sock.settimeout(5)
                body = json.dumps({"StreamName": name, "StartSelector": {
                    "StartSelectorType": selector}}).encode()
                headers = {"Host": u.netloc,
                           "Content-Type": "application/json"}
                signed = sign("POST", endpoint + "/getMedia", headers, body)
                signed["Content-Length"] = str(len(body))
                sock.sendall(("POST /getMedia HTTP/1.1\r\n" + "".join(
                    "%s: %s\r\n" % kv for kv in signed.items()) +
                    "\r\n").encode() + body)
                with lock:
                    total["connections"] += 1
                while time.time() < stop:
                    try:
                        data = sock.recv(262144)
                    except socket.timeout:
                        continue
                    if not data:
                        break
                    with lock:
                        total["bytes"] += len(data)
                sock.close()
            except OSError:
                with lock:
                    total["errors"] += 1
                time.sleep(0.5)
            if selector == "NOW":
                time.sleep(0.2)
    threads = []
    for spec in specs:
        name, _, count = spec.partition(":")
        selector = "EARLIEST" if count.endswith("earliest") else "NOW"
        for _ in range(int(count.replace("earliest", "") or 1)):
            th = threading.Thread(target=one, args=(name, selector),
                                  daemon=True)
            th.start()
            threads.append(th)
    for th in threads:
        th.join(seconds + 30)
    total["readers"] = len(threads)
    total["mbit_per_s"] = round(total["bytes"] * 8 / 1e6 / seconds, 1)
    print(json.dumps(total), flush=True)
    return 0


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
    if cmd == "flood":
        return flood(a[0], a[1], float(a[2]), float(a[3]))
    if cmd == "idle":
        return idle(a[0], a[1])
    if cmd == "producer":
        return producer(a[0], a[1], float(a[2]), float(a[3]))
    if cmd == "readers":
        return readers(a[0], float(a[1]), a[2:])
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
