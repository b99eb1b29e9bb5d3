#!/usr/bin/python3
"""A stand-in S3 endpoint that records every request, for checking the s3
module's requests byte for byte (signatures against botocore) and its
handling of S3 error answers.

  s3_capture_server.py PORT_FILE REQUESTS.jsonl [CERT.pem KEY.pem]

With CERT and KEY it answers HTTPS instead of HTTP.

Buckets answer by name: "denied" 403 SignatureDoesNotMatch, "nobucket" 404
NoSuchBucket, "toolarge" 400 EntityTooLarge, "expired" 400 ExpiredToken,
"slow" 503 SlowDown for the first two requests; every other bucket stores
(200 with an ETag)."""
import hashlib
import http.server
import json
import ssl
import sys

ERRORS = {
    "denied": (403, "SignatureDoesNotMatch",
               "The request signature we calculated does not match the "
               "signature you provided."),
    "nobucket": (404, "NoSuchBucket", "The specified bucket does not exist"),
    "toolarge": (400, "EntityTooLarge",
                 "Your proposed upload exceeds the maximum allowed size"),
    "expired": (400, "ExpiredToken", "The provided token has expired."),
}
slow_left = [2]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_PUT(self):
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n)
        with open(sys.argv[2], "a") as f:
            f.write(json.dumps({"method": "PUT", "path": self.path,
                                "headers": list(self.headers.items()),
                                "body": body.decode("latin-1")}) + "\n")
        bucket = self.path.split("/")[1]
        err = ERRORS.get(bucket)
        if bucket == "slow" and slow_left[0] > 0:
            slow_left[0] -= 1
            err = (503, "SlowDown", "Please reduce your request rate.")
        if err:
            doc = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>"
                   "%s</Code><Message>%s</Message><RequestId>4442587FB7D0A2F9"
                   "</RequestId></Error>" % (err[1], err[2])).encode()
            self.send_response(err[0])
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(doc)))
            self.end_headers()
            self.wfile.write(doc)
            return
        self.send_response(200)
        self.send_header("ETag", '"%s"' % hashlib.md5(body).hexdigest())
        self.send_header("Content-Length", "0")
        self.end_headers()


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if len(sys.argv) > 4:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(sys.argv[1], "w") as f:
    f.write(str(srv.server_address[1]))
srv.serve_forever()
