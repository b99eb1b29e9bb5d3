"""A stand-in for the AWS IoT credentials provider, for the kvs sink's tests.

Mutual TLS: the client must present a certificate signed by --client-ca
(and, with --client-cn, with that subject CN). GET
/role-aliases/ALIAS/credentials with x-amzn-iot-thingname: THING answers
{"credentials": {accessKeyId, secretAccessKey, sessionToken, expiration}}
with the expiration --lifetime seconds ahead. --token-per-fetch appends the
fetch number to the session token so each answer differs. One log line per
request or refused handshake on stderr; secrets are never printed.

usage: iot_creds_server.py --port-file F --cert C --key K --client-ca CA
       --alias A --thing T --access-key AK --secret-key SK --token TOK
       [--lifetime S] [--token-per-fetch] [--client-cn CN] [--port P]
"""
import argparse
import datetime
import http.server
import json
import os
import ssl
import sys
import threading

args = None
fetches = 0
lock = threading.Lock()


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def answer(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        global fetches
        want = "/role-aliases/%s/credentials" % args.alias
        thing = self.headers.get("x-amzn-iot-thingname")
        cert = self.connection.getpeercert() or {}
        cn = ""
        for rdn in cert.get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    cn = v
        if self.path != want:
            log("refused: path %s (want %s)" % (self.path, want))
            return self.answer(404, {"message": "Role alias does not exist"})
        if thing != args.thing:
            log("refused: x-amzn-iot-thingname %r (want %r)" % (thing, args.thing))
            return self.answer(403, {"message": "Access Denied"})
        if args.client_cn and cn != args.client_cn:
            log("refused: client certificate CN %r" % cn)
            return self.answer(403, {"message": "Access Denied"})
        with lock:
            fetches += 1
            n = fetches
        now = datetime.datetime.now(datetime.timezone.utc)
        exp = now + datetime.timedelta(seconds=args.lifetime)
        token = args.token + (str(n) if args.token_per_fetch else "")
        log("fetch %d: thing %s, client CN %s, expires %s" %
            (n, thing, cn, exp.strftime("%H:%M:%S")))
        self.answer(200, {"credentials": {
            "accessKeyId": args.access_key,
            "secretAccessKey": args.secret_key,
            "sessionToken": token,
            "expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ")}})


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.settimeout(10)
        try:
            return self.ctx.wrap_socket(sock, server_side=True), addr
        except (ssl.SSLError, OSError) as e:
            log("TLS handshake refused: %s" % (getattr(e, "reason", None) or e))
            sock.close()
            raise


def main():
    global args
    p = argparse.ArgumentParser()
    for a in ("port-file", "cert", "key", "client-ca", "alias", "thing",
              "access-key", "secret-key", "token"):
        p.add_argument("--" + a, required=True)
    p.add_argument("--lifetime", type=int, default=3600)
    p.add_argument("--token-per-fetch", action="store_true")
    p.add_argument("--client-cn")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.load_verify_locations(args.client_ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.ctx = ctx
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    log("listening on 127.0.0.1:%d" % srv.server_address[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
