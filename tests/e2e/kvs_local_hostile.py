#!/usr/bin/python3
"""Hostile clients against vpipe-kvs-local (issue 13): raw sockets, requests
signed by botocore. Each command prints what it saw and exits non-zero
when kvs-local let the client through.

  kvs_local_hostile.py payload ENDPOINT STREAM MKV match|mismatch
      PutMedia with a fixed X-Amz-Content-Sha256: of the body sent
      (match: ACKs, stored) or of another body (mismatch: 400, no ACK)
  kvs_local_hostile.py json-payload ENDPOINT   DescribeStream whose hash
      is of another body: 400
  kvs_local_hostile.py framing ENDPOINT        both Transfer-Encoding and
      Content-Length: 400; Content-Length 10^15: 413
  kvs_local_hostile.py idle ENDPOINT PID N     hold N idle connections:
      the server's threads and RSS before and with them; a request still
      answered; then wait for them to be closed (--idle-timeout)
  kvs_local_hostile.py trickle-head ENDPOINT   a head at a byte per 0.9 s
  kvs_local_hostile.py trickle-body ENDPOINT   a body at a byte per 0.9 s
  kvs_local_hostile.py close ENDPOINT          Connection: close honoured,
      keep-alive otherwise
  kvs_local_hostile.py caps ENDPOINT PER_CLIENT TOTAL   connections over
      the per-client and the total cap refused with a readable 503
  kvs_local_hostile.py busy ENDPOINT N   N requests holding every worker
      (--max-requests N): one more gets a 503
  kvs_local_hostile.py signed-call ENDPOINT OP JSON   one signed call
      (AWS_SESSION_TOKEN included when set): prints status and error type
"""
import hashlib
import json
import os
import socket
import sys
import time
import urllib.parse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REGION = "us-west-2"


def sign(method, url, headers, body=b""):
    creds = Credentials(os.environ.get("AWS_ACCESS_KEY_ID", "AKID"),
                        os.environ.get("AWS_SECRET_ACCESS_KEY", "SECRET"),
                        os.environ.get("AWS_SESSION_TOKEN"))
    req = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(creds, "kinesisvideo", REGION).add_auth(req)
    return dict(req.headers.items())


def addr(endpoint):
    u = urllib.parse.urlparse(endpoint)
    return u.hostname, u.port, u.netloc


def head_text(path, headers):
    return ("POST %s HTTP/1.1\r\n" % path + "".join(
        "%s: %s\r\n" % kv for kv in headers.items()) + "\r\n").encode()


def read_response(s, timeout=30):
    """(status, headers dict, body bytes, closed after it)."""
    s.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        b = s.recv(4096)
        if not b:
            break
        data += b
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    status = int(lines[0].split()[1]) if len(lines[0].split()) > 1 else 0
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    body = rest
    if hdrs.get("transfer-encoding") == "chunked":
        while not body.endswith(b"0\r\n\r\n"):
            b = s.recv(65536)
            if not b:
                break
            body += b
    else:
        n = int(hdrs.get("content-length", "0"))
        while len(body) < n:
            b = s.recv(65536)
            if not b:
                break
            body += b
    return status, hdrs, body


def closed_by_peer(s, timeout=5):
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def still_open(s):
    """Without waiting: not closed by the server (nothing to read)."""
    try:
        return s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except ConnectionResetError:
        return False


def signed_call_bytes(endpoint, op, body, extra=None):
    host, port, netloc = addr(endpoint)
    headers = {"Host": netloc, "Content-Type": "application/json"}
    headers.update(extra or {})
    signed = sign("POST", endpoint + "/" + op, headers, body)
    signed["Content-Length"] = str(len(body))
    return head_text("/" + op, signed) + body


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def payload(args):
    endpoint, stream, mkv, mode = args
    body = open(mkv, "rb").read()
    host, port, netloc = addr(endpoint)
    claimed = body if mode == "match" else body[:-1] + bytes([body[-1] ^ 1])
    headers = {
        "Host": netloc,
        "x-amzn-stream-name": stream,
        "x-amzn-fragment-timecode-type": "RELATIVE",
        "x-amzn-producer-start-timestamp": "%.3f" % time.time(),
        "X-Amz-Content-SHA256": hashlib.sha256(claimed).hexdigest(),
    }
    signed = sign("POST", endpoint + "/putMedia", headers, claimed)
    signed["Content-Length"] = str(len(body))
    s = socket.create_connection((host, port))
    s.sendall(head_text("/putMedia", signed) + body)
    status, hdrs, resp = read_response(s)
    events = [json.loads(line)["EventType"]
              for line in resp.split(b"\n") if line.startswith(b"{\"Event")]
    print("status", status, hdrs.get("x-amzn-errortype", ""), "acks",
          " ".join(events) or "none")
    if mode == "match":
        if status != 200 or "PERSISTED" not in events:
            fail("a PutMedia whose hash matches was not stored")
    elif status != 400 or hdrs.get("x-amzn-errortype") != \
            "XAmzContentSHA256Mismatch:" or events:
        fail("a PutMedia whose hash does not match was taken")
    print(resp.decode(errors="replace")[:300])


def json_payload(args):
    endpoint = args[0]
    body = b'{"StreamName":"nope"}'
    host, port, _ = addr(endpoint)
    other = b'{"StreamName":"other"}'
    req = signed_call_bytes(endpoint, "describeStream", other, {
        "X-Amz-Content-SHA256": hashlib.sha256(other).hexdigest()})
    req = req[:-len(other)].replace(
        b"Content-Length: %d" % len(other),
        b"Content-Length: %d" % len(body)) + body
    s = socket.create_connection((host, port))
    s.sendall(req)
    status, hdrs, resp = read_response(s)
    print("status", status, hdrs.get("x-amzn-errortype", ""), resp.decode())
    if status != 400 or "SHA256Mismatch" not in hdrs.get("x-amzn-errortype",
                                                          ""):
        fail("a call whose body is not the one hashed was taken")
    s = socket.create_connection((host, port))
    s.sendall(signed_call_bytes(endpoint, "describeStream", body, {
        "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}))
    status, hdrs, resp = read_response(s)
    print("UNSIGNED-PAYLOAD on DescribeStream:", status, resp.decode())
    if status != 400:
        fail("an unsigned body was taken on a JSON call")


def framing(args):
    endpoint = args[0]
    host, port, netloc = addr(endpoint)
    cases = [
        ("both framings", "/describeStream",
         "Transfer-Encoding: chunked\r\nContent-Length: 21\r\n",
         b"15\r\n" + b'{"StreamName":"cam1"}' + b"\r\n0\r\n\r\n", 400),
        ("Content-Length 10^15 (PutMedia)", "/putMedia",
         "Content-Length: 1000000000000000\r\nx-amzn-stream-name: cam1\r\n"
         "x-amzn-fragment-timecode-type: RELATIVE\r\n", b"", 413),
        ("Content-Length 10^15 (DescribeStream)", "/describeStream",
         "Content-Length: 1000000000000000\r\n", b"", 413),
        ("Transfer-Encoding gzip, chunked", "/describeStream",
         "Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n", 400),
    ]
    for name, path, extra, body, want in cases:
        s = socket.create_connection((host, port))
        s.sendall(("POST %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" %
                   (path, netloc, extra)).encode() + body)
        status, hdrs, resp = read_response(s)
        print("%s: %d %s" % (name, status, resp.decode()))
        if status != want:
            fail("%s: status %d, want %d" % (name, status, want))
        if not closed_by_peer(s):
            fail("%s: the connection stayed open" % name)


def proc_status(pid):
    out = {}
    for line in open("/proc/%s/status" % pid):
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return int(out["Threads"]), int(out["VmRSS"].split()[0])


def describe_ok(endpoint):
    host, port, _ = addr(endpoint)
    s = socket.create_connection((host, port))
    s.sendall(signed_call_bytes(endpoint, "listStreams", b"{}"))
    status, _, _ = read_response(s)
    s.close()
    return status


def idle(args):
    endpoint, pid, n = args[0], args[1], int(args[2])
    host, port, _ = addr(endpoint)
    threads0, rss0 = proc_status(pid)
    socks = []
    start = time.time()
    for _ in range(n):
        socks.append(socket.create_connection((host, port)))
    print("%d connections opened in %.1f s" % (n, time.time() - start))
    time.sleep(1)
    threads1, rss1 = proc_status(pid)
    status = describe_ok(endpoint)
    threads2, rss2 = proc_status(pid)
    print("kvs-local with %d idle connections: threads %d -> %d, "
          "VmRSS %d kB -> %d kB (%.1f kB per connection); "
          "ListStreams meanwhile: %d; threads after it %d" %
          (n, threads0, threads1, rss0, rss1, (rss1 - rss0) / n, status,
           threads2))
    if status != 200:
        fail("a request was not answered while %d connections idled" % n)
    if threads1 > threads0 + 1:
        fail("idle connections took threads (%d -> %d)" % (threads0, threads1))
    open_now = sum(still_open(s) for s in socks)
    print("%.1f s after the first: %d open" % (time.time() - start, open_now))
    if open_now != n:
        fail("%d of %d idle connections were closed early" % (n - open_now, n))
    deadline = time.time() + 60
    left = socks
    while left and time.time() < deadline:
        time.sleep(0.5)
        left = [s for s in left if still_open(s)]
    print("after --idle-timeout: %d of %d still open" % (len(left), n))
    if left:
        fail("idle connections were never closed")


def trickle(endpoint, prefix, data, what):
    """Send prefix at once, then data a byte per 0.9 s until the server
    answers or closes; that answer must be a 408."""
    host, port, _ = addr(endpoint)
    s = socket.create_connection((host, port))
    s.sendall(prefix)
    start = time.time()
    sent, cut = 0, False
    for b in data:
        try:
            s.send(bytes([b]))
        except OSError:
            cut = True
            break
        sent += 1
        s.settimeout(0.9)
        try:
            s.recv(1, socket.MSG_PEEK)
            cut = True
            break
        except socket.timeout:
            pass
    elapsed = time.time() - start
    if not cut:
        fail("a %s trickled over %.1f s was never cut" % (what, elapsed))
    status, hdrs, resp = read_response(s)
    print("%s at a byte per 0.9 s: cut after %.1f s and %d of %d bytes: "
          "%d %s" % (what, elapsed, sent, len(data), status, resp.decode()))
    if status != 408:
        fail("status %d, want 408" % status)


def trickle_head(args):
    head = ("POST /describeStream HTTP/1.1\r\nHost: x\r\n"
            "X-Padding: " + "a" * 100 + "\r\n\r\n").encode()
    trickle(args[0], b"", head, "request head")


def trickle_body(args):
    endpoint = args[0]
    body = b'{"StreamName":"' + b"a" * 100 + b'"}'
    req = signed_call_bytes(endpoint, "describeStream", body)
    trickle(endpoint, req[:-len(body)], body, "body")


def close(args):
    endpoint = args[0]
    host, port, _ = addr(endpoint)
    s = socket.create_connection((host, port))
    for i in (1, 2):
        s.sendall(signed_call_bytes(endpoint, "listStreams", b"{}"))
        status, hdrs, _ = read_response(s)
        print("keep-alive request %d: %d, Connection: %s" %
              (i, status, hdrs.get("connection", "-")))
        if status != 200:
            fail("keep-alive request %d: %d" % (i, status))
    if closed_by_peer(s, 0.5):
        fail("closed without Connection: close")
    s.sendall(signed_call_bytes(endpoint, "listStreams", b"{}",
                                {"Connection": "close"}))
    status, hdrs, _ = read_response(s)
    closed = closed_by_peer(s)
    print("with Connection: close: %d, Connection: %s, closed after it: %s" %
          (status, hdrs.get("connection", "-"), closed))
    if status != 200 or hdrs.get("connection") != "close" or not closed:
        fail("Connection: close not honoured")


def caps(args):
    endpoint, per_client, total = args[0], int(args[1]), int(args[2])
    host, port, _ = addr(endpoint)

    def open_from(src, n):
        socks, refused = [], []
        for _ in range(n):
            s = socket.socket()
            s.bind((src, 0))
            s.connect((host, port))
            socks.append(s)
        time.sleep(0.5)
        for s in socks:
            s.settimeout(0.05)
            try:
                data = s.recv(4096)
            except socket.timeout:
                continue
            refused.append(data.decode(errors="replace"))
        return socks, refused

    a, refused_a = open_from("127.0.0.1", per_client + 5)
    print("from 127.0.0.1: %d opened, %d refused" % (len(a), len(refused_a)))
    if len(refused_a) != 5 or "503" not in refused_a[0] or \
            "--max-connections-per-client" not in refused_a[0]:
        fail("per-client cap: %r" % refused_a[:1])
    print(refused_a[0].split("\r\n")[0], refused_a[0].split("\r\n\r\n")[1])
    b, refused_b = open_from("127.0.0.2", total - per_client + 3)
    print("then from 127.0.0.2: %d opened, %d refused" %
          (len(b), len(refused_b)))
    if len(refused_b) != 3 or "--max-connections" not in refused_b[0]:
        fail("total cap: %r" % refused_b[:1])
    print(refused_b[0].split("\r\n\r\n")[1])
    for s in a + b:
        s.close()


def busy(args):
    """--max-requests N: N requests whose bodies trickle hold every
    worker; one more request is refused at once with a 503, and answered
    once they time out."""
    endpoint, n = args[0], int(args[1])
    host, port, _ = addr(endpoint)
    body = b'{"StreamName":"' + b"a" * 100 + b'"}'
    req = signed_call_bytes(endpoint, "describeStream", body)
    held = []
    for _ in range(n):
        s = socket.create_connection((host, port))
        s.sendall(req[:-len(body)] + body[:1])
        held.append(s)
    time.sleep(0.5)
    s = socket.create_connection((host, port))
    s.sendall(signed_call_bytes(endpoint, "listStreams", b"{}"))
    status, hdrs, resp = read_response(s)
    print("with %d requests running: %d %s %s" %
          (n, status, hdrs.get("x-amzn-errortype", ""), resp.decode()))
    if status != 503:
        fail("a request beyond --max-requests %d was not refused" % n)
    for h in held:
        status, _, _ = read_response(h)
        if status != 408:
            fail("a held request ended with %d, want 408" % status)
    status = describe_ok(endpoint)
    print("after they timed out: %d" % status)
    if status != 200:
        fail("not answered once the workers were free")


def signed_call(args):
    endpoint, op, body = args[0], args[1], args[2].encode()
    host, port, _ = addr(endpoint)
    s = socket.create_connection((host, port))
    s.sendall(signed_call_bytes(endpoint, op, body))
    status, hdrs, resp = read_response(s)
    print(status, hdrs.get("x-amzn-errortype", "").rstrip(":"))


COMMANDS = {
    "payload": payload, "json-payload": json_payload, "framing": framing,
    "idle": idle, "trickle-head": trickle_head, "trickle-body": trickle_body,
    "close": close, "caps": caps, "busy": busy, "signed-call": signed_call,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](sys.argv[2:])
