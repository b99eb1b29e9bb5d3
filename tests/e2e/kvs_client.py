#!/usr/bin/python3
"""Test client for vpipe kvs-local, independent of our C code: requests are
signed by botocore (SigV4Auth), PutMedia bodies go out chunked in uneven
pieces while a reader thread collects the ACKs.

  kvs_client.py putmedia ENDPOINT STREAM FILE [--expect-fragments N]
        [--expect-error ID] [--expect-status CODE] [--hold SECONDS]
        [--timecode-type RELATIVE|ABSOLUTE] [--chunk-signed SIZE]
        [--tamper-chunk N] [--swap-chunks N]
      --chunk-signed: X-Amz-Content-SHA256 STREAMING-AWS4-HMAC-SHA256-PAYLOAD,
        the body aws-chunked in SIZE-byte chunks, each signed in a chain
        from botocore's seed signature (chunk string to sign as AWS
        documents it, HMAC by botocore's SigV4Auth.signature); then
        --tamper-chunk alters chunk N (1-based) after signing it,
        --swap-chunks sends chunks N and N+1 in the wrong order
  kvs_client.py mkv KIND OUT        write a crafted Matroska file
        KIND: long-fragment, backwards, four-tracks, many-tags, garbage,
              big-fragment, tagged
  kvs_client.py call ENDPOINT OP JSON [--tamper]   a signed control call
  kvs_client.py burst ENDPOINT OP JSON N   N calls back to back, one
        connection each, reading only the status: "STATUS ERRORTYPE" lines
  kvs_client.py hold ENDPOINT OP JSON N [SECONDS]   N concurrent calls
        whose bodies are never read, kept open SECONDS (5): status lines

Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Exit 0 when
every expectation holds; prints what it saw."""
import hashlib
import json
import os
import select
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REGION = "us-west-2"


def signer():
    creds = Credentials(os.environ.get("AWS_ACCESS_KEY_ID", "AKID"),
                        os.environ.get("AWS_SECRET_ACCESS_KEY", "SECRET"),
                        os.environ.get("AWS_SESSION_TOKEN"))
    return SigV4Auth(creds, "kinesisvideo", REGION)


def sign(method, url, headers, body=b"", keep=None):
    req = AWSRequest(method=method, url=url, data=body, headers=headers)
    auth = signer()
    auth.add_auth(req)
    if keep is not None:
        keep["auth"], keep["request"] = auth, req
    return dict(req.headers.items())


EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def aws_chunks(body, size, keep, opts):
    """The body as aws-chunked chunks, each signed in a chain from the
    seed (the request's signature); the empty final chunk last."""
    auth, req = keep["auth"], keep["request"]
    seed = req.headers["Authorization"].rsplit("Signature=", 1)[1]
    stamp = req.context["timestamp"]
    scope = auth.credential_scope(req)
    pieces = [body[i:i + size] for i in range(0, len(body), size)] + [b""]
    out, prev = [], seed
    for n, data in enumerate(pieces, 1):
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", stamp, scope, prev,
                         EMPTY_SHA256, hashlib.sha256(data).hexdigest()])
        prev = auth.signature(sts, req)
        if int(opts.get("tamper-chunk", 0)) == n:
            data = bytes([data[0] ^ 1]) + data[1:]
        out.append(b"%x;chunk-signature=%s\r\n" % (len(data), prev.encode())
                   + data + b"\r\n")
    swap = int(opts.get("swap-chunks", 0))
    if swap:
        out[swap - 1], out[swap] = out[swap], out[swap - 1]
    return b"".join(out)


def tls_relay(tls, plain):
    """Moves bytes between a TLS socket and a plain one in ONE thread.

    An OpenSSL connection must not be read and written from two threads at
    once (Python does not lock it: concurrent use corrupts the record
    layer, "bad record mac"). The PutMedia client reads ACKs in one thread
    while sending in another, so it talks plain TCP to this relay."""
    tls.setblocking(False)
    plain.setblocking(False)
    to_tls, to_plain = b"", b""
    tls_open, plain_open = True, True
    while tls_open and (plain_open or to_tls):
        rd = [s for s, ok in ((tls, tls_open), (plain, plain_open)) if ok]
        wr = ([tls] if to_tls else []) + ([plain] if to_plain else [])
        if not tls.pending():
            select.select(rd, wr, [], 1.0)
        try:
            while True:
                d = tls.recv(65536)
                if not d:
                    tls_open = False
                    break
                to_plain += d
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        except OSError:
            tls_open = False
        if plain_open:
            try:
                d = plain.recv(65536)
                if d:
                    to_tls += d
                else:
                    plain_open = False
            except BlockingIOError:
                pass
            except OSError:
                plain_open = False
        try:
            if to_tls:
                to_tls = to_tls[tls.send(to_tls):]
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        except OSError:
            tls_open = False
        try:
            if to_plain:
                to_plain = to_plain[plain.send(to_plain):]
        except BlockingIOError:
            pass
        except OSError:
            to_plain = b""
    try:
        while to_plain:
            plain.setblocking(True)
            to_plain = to_plain[plain.send(to_plain):]
    except OSError:
        pass
    plain.close()
    tls.close()


def connect(endpoint):
    u = urllib.parse.urlparse(endpoint)
    s = socket.create_connection((u.hostname, u.port), timeout=60)
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=os.environ.get("KVS_CA"))
        tls = ctx.wrap_socket(s, server_hostname=u.hostname)
        s, inner = socket.socketpair()
        s.settimeout(60)
        threading.Thread(target=tls_relay, args=(tls, inner),
                         daemon=True).start()
    return s, u


class Response:
    """Reads a response head and a chunked body from a socket."""

    def __init__(self, sock):
        self.f = sock.makefile("rb")
        line = self.f.readline()
        self.status = int(line.split()[1]) if line else 0
        self.headers = {}
        while True:
            h = self.f.readline()
            if h in (b"\r\n", b"\n", b""):
                break
            k, _, v = h.decode().partition(":")
            self.headers[k.strip().lower()] = v.strip()

    def chunks(self):
        if self.headers.get("transfer-encoding") != "chunked":
            n = int(self.headers.get("content-length", "0"))
            yield self.f.read(n)
            return
        while True:
            size_line = self.f.readline()
            if not size_line:
                return
            n = int(size_line.split(b";")[0], 16)
            if n == 0:
                self.f.readline()
                return
            yield self.f.read(n)
            self.f.readline()


# uneven piece sizes so that chunk, element and read boundaries all differ
PIECES = [1, 7, 4096, 13, 100, 65536, 3, 999, 20000, 2]


def putmedia(args):
    endpoint, stream, path = args[0], args[1], args[2]
    opts = parse_opts(args[3:])
    body = open(path, "rb").read()
    sock, u = connect(endpoint)
    headers = {
        "Host": u.netloc,
        "x-amzn-stream-name": stream,
        "x-amzn-fragment-timecode-type": opts.get("timecode-type", "RELATIVE"),
        "x-amzn-producer-start-timestamp": "%.3f" % time.time(),
        "x-amzn-fragment-acknowledgment-required": "1",
        "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD",
        "Transfer-Encoding": "chunked",
    }
    keep = {}
    if "chunk-signed" in opts:
        headers["X-Amz-Content-SHA256"] = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
        headers["Content-Encoding"] = "aws-chunked"
        headers["x-amz-decoded-content-length"] = str(len(body))
    signed = sign("POST", endpoint + "/putMedia", headers, keep=keep)
    if "chunk-signed" in opts:
        body = aws_chunks(body, int(opts["chunk-signed"]), keep, opts)
    head = "POST /putMedia HTTP/1.1\r\n" + "".join(
        "%s: %s\r\n" % kv for kv in signed.items()) + "\r\n"
    sock.sendall(head.encode())
    state = {"sent": 0, "done": False}
    acks = []
    resp_box = {}

    def reader():
        r = Response(sock)
        resp_box["r"] = r
        buf = b""
        for c in r.chunks():
            buf += c
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    a = json.loads(line)
                    a["_sent"] = state["sent"]
                    a["_body_done"] = state["done"]
                    acks.append(a)
                    print("ack", json.dumps(a), flush=True)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    i = 0
    off = 0
    try:
        while off < len(body):
            n = PIECES[i % len(PIECES)]
            i += 1
            piece = body[off:off + n]
            sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
            off += len(piece)
            state["sent"] = off
            # spread the body over ~1.5 s (or --seconds) like a live
            # producer, so ACKs must come back while it is still sending
            time.sleep(len(piece) * float(opts.get("seconds", 1.5)) / len(body))
        if "hold" in opts:
            time.sleep(float(opts["hold"]))
        sock.sendall(b"0\r\n\r\n")
    except OSError as e:
        print("send stopped after %d bytes: %s" % (off, e), flush=True)
    state["done"] = True
    t.join(60)
    r = resp_box.get("r")
    status = r.status if r else 0
    print("status", status, flush=True)
    return check_acks(opts, status, acks, len(body))


def check_acks(opts, status, acks, body_len):
    ok = True

    def bad(msg):
        nonlocal ok
        ok = False
        print("FAIL:", msg, flush=True)

    if "expect-status" in opts:
        if status != int(opts["expect-status"]):
            bad("status %d, want %s" % (status, opts["expect-status"]))
        return 0 if ok else 1
    if status != 200:
        bad("status %d" % status)
    errors = [a for a in acks if a["EventType"] == "ERROR"]
    if "expect-error" in opts:
        want = int(opts["expect-error"])
        if not errors or errors[0].get("ErrorId") != want:
            bad("want ERROR %d, got %s" % (want, errors))
        elif not errors[0].get("ErrorCode"):
            bad("ERROR ack without ErrorCode")
        return 0 if ok else 1
    if errors:
        bad("unexpected ERROR acks %s" % errors)
    # per fragment: BUFFERING, RECEIVED, PERSISTED in this order
    frags = {}
    order = []
    for a in acks:
        if a["EventType"] == "IDLE":
            continue
        n = a.get("FragmentNumber")
        if n not in frags:
            frags[n] = []
            order.append(n)
        frags[n].append(a["EventType"])
    for n in order:
        if frags[n] != ["BUFFERING", "RECEIVED", "PERSISTED"]:
            bad("fragment %s acks %s" % (n, frags[n]))
    if [int(n) for n in order] != sorted(int(n) for n in order):
        bad("fragment numbers not increasing")
    tcs = [a["FragmentTimecode"] for a in acks if a["EventType"] == "BUFFERING"]
    if tcs != sorted(tcs):
        bad("fragment timecodes not increasing: %s" % tcs)
    if "expect-fragments" in opts and len(order) != int(opts["expect-fragments"]):
        bad("%d fragments, want %s" % (len(order), opts["expect-fragments"]))
    early = [a for a in acks if not a["_body_done"]]
    if len(order) > 1 and not early:
        bad("no ACK arrived while the body was still being sent")
    if "expect-idle" in opts and not any(a["EventType"] == "IDLE" for a in acks):
        bad("no IDLE ack")
    print("fragments", len(order), "early acks", len(early), flush=True)
    return 0 if ok else 1


def parse_opts(args):
    opts = {}
    i = 0
    while i < len(args):
        k = args[i].lstrip("-")
        opts[k] = args[i + 1] if i + 1 < len(args) else ""
        i += 2
    return opts


# ---------------------------------------------------------------- Matroska
def vint_size(n):
    for length in range(1, 9):
        if n < (1 << (7 * length)) - 1:
            return (n | (1 << (7 * length))).to_bytes(length, "big")
    raise ValueError(n)


def el(id_, payload):
    idb = id_.to_bytes((id_.bit_length() + 7) // 8, "big")
    return idb + vint_size(len(payload)) + payload


def uint(id_, v):
    return el(id_, v.to_bytes(max(1, (v.bit_length() + 7) // 8), "big"))


def string(id_, s):
    return el(id_, s.encode())


UNKNOWN = b"\x01\xff\xff\xff\xff\xff\xff\xff"


def header(tracks=1):
    ebml = el(0x1A45DFA3, string(0x4282, "matroska") + uint(0x4287, 2) +
              uint(0x4285, 2))
    info = el(0x1549A966, uint(0x2AD7B1, 1000000))
    entries = b"".join(
        el(0xAE, uint(0xD7, n) + uint(0x73C5, n) + uint(0x83, 1) +
           string(0x86, "V_MPEG4/ISO/AVC")) for n in range(1, tracks + 1))
    return ebml + b"\x18\x53\x80\x67" + UNKNOWN + info + el(0x1654AE6B, entries)


def block(tc, key=True, size=16, track=1):
    return el(0xA3, bytes([0x80 | track]) + struct.pack(">h", tc) +
              bytes([0x80 if key else 0]) + b"\0" * size)


def cluster(tc, blocks):
    return b"\x1F\x43\xB6\x75" + UNKNOWN + uint(0xE7, tc) + b"".join(blocks)


def tags(pairs):
    st = b"".join(el(0x67C8, string(0x45A3, k) + string(0x4487, v))
                  for k, v in pairs)
    return el(0x1254C367, el(0x7373, el(0x63C0, b"") + st))


def make_mkv(kind, out):
    h = header()
    ok1 = cluster(1000, [block(0), block(500, False)])
    ok2 = cluster(2000, [block(0), block(500, False)])
    if kind == "long-fragment":  # one fragment spanning 21 s
        data = h + cluster(0, [block(t * 1000, t == 0) for t in range(22)]) + ok2
    elif kind == "backwards":
        data = h + cluster(5000, [block(0)]) + cluster(1000, [block(0)])
    elif kind == "four-tracks":
        data = header(4) + ok1
    elif kind == "many-tags":
        data = h + tags([("k%d" % i, "v") for i in range(11)]) + ok1
    elif kind == "tagged":
        data = h + tags([("AWS_KINESISVIDEO_NOTIFICATION", "motion")]) + ok1 + ok2
    elif kind == "garbage":
        data = h + ok1 + b"\x00\x01GARBAGE" * 10
    elif kind == "big-fragments":  # three fragments of 3 MB
        data = h + b"".join(cluster(t * 1000, [block(0, size=3000000)])
                            for t in range(3))
    elif kind == "big-fragment":  # one 50 MB + 1 byte frame
        data = h + cluster(0, [block(0, size=50 * 1000 * 1000 + 1)])
    else:
        raise SystemExit("unknown kind " + kind)
    open(out, "wb").write(data)
    return 0


def call(args):
    endpoint, op, body = args[0], args[1], args[2].encode()
    u = urllib.parse.urlparse(endpoint)
    headers = {"Host": u.netloc, "Content-Type": "application/json"}
    signed = sign("POST", endpoint + "/" + op, headers, body)
    if "--tamper" in args:
        body = body.replace(b"}", b',"X":1}')
    signed["Content-Length"] = str(len(body))
    sock, _ = connect(endpoint)
    head = "POST /%s HTTP/1.1\r\n" % op + "".join(
        "%s: %s\r\n" % kv for kv in signed.items()) + "\r\n"
    sock.sendall(head.encode() + body)
    r = Response(sock)
    text = b"".join(r.chunks()).decode()
    print(r.status, r.headers.get("x-amzn-errortype", ""), text)
    return 0


def send_call(endpoint, op, body, rcvbuf=None):
    """Connect, send a signed call; returns the socket (nothing read)."""
    u = urllib.parse.urlparse(endpoint)
    headers = {"Host": u.netloc, "Content-Type": "application/json"}
    signed = sign("POST", endpoint + "/" + op, headers, body)
    signed["Content-Length"] = str(len(body))
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect((u.hostname, u.port))
    head = "POST /%s HTTP/1.1\r\n" % op + "".join(
        "%s: %s\r\n" % kv for kv in signed.items()) + "\r\n"
    s.sendall(head.encode() + body)
    return s


def read_status(s):
    """Status code and x-amzn-ErrorType from the head, reading little."""
    data = b""
    while b"\r\n\r\n" not in data:
        b = s.recv(1)
        if not b:
            break
        data += b
    lines = data.decode(errors="replace").split("\r\n")
    status = lines[0].split()[1] if len(lines[0].split()) > 1 else "0"
    etype = ""
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "x-amzn-errortype":
            etype = v.strip().rstrip(":")
    return status, etype


def burst(args):
    endpoint, op, body, n = args[0], args[1], args[2].encode(), int(args[3])
    socks = [send_call(endpoint, op, body) for _ in range(n)]
    for s in socks:
        print(*read_status(s), flush=True)
        s.close()
    return 0


def hold(args):
    endpoint, op, body, n = args[0], args[1], args[2].encode(), int(args[3])
    seconds = float(args[4]) if len(args) > 4 else 5.0
    socks = []
    for _ in range(n):
        s = send_call(endpoint, op, body, rcvbuf=4096)
        print(*read_status(s), flush=True)
        socks.append(s)
    time.sleep(seconds)
    for s in socks:
        s.close()
    return 0


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "putmedia":
        return putmedia(args)
    if cmd == "mkv":
        return make_mkv(args[0], args[1])
    if cmd == "call":
        return call(args)
    if cmd == "burst":
        return burst(args)
    if cmd == "hold":
        return hold(args)
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
