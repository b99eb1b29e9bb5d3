#!/usr/bin/python3
"""S3 client for the s3 module's tests, on botocore (a real S3 client).

  s3_client.py dump ENDPOINT BUCKET DIR
      list, head and get every object; DIR/index.json lists
      {key, content_type, metadata, size, file} and DIR/N holds the bodies.
  s3_client.py sign-check REQUESTS.jsonl SECRET
      for requests captured by s3_capture_server: sign each again with
      botocore's S3 signer (same headers, same X-Amz-Date) and compare the
      Authorization header; prints one line per request, exit 1 on a
      difference.
"""
import json
import os
import sys

import botocore.session
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials


def dump(endpoint, bucket, out):
    s3 = botocore.session.get_session().create_client(
        "s3", endpoint_url=endpoint, region_name="us-west-2",
        aws_access_key_id="S3RVER", aws_secret_access_key="S3RVER",
        config=Config(s3={"addressing_style": "path"}))
    os.makedirs(out, exist_ok=True)
    index, token = [], None
    while True:
        kw = {"Bucket": bucket}
        if token:
            kw["ContinuationToken"] = token
        page = s3.list_objects_v2(**kw)
        for obj in page.get("Contents", []):
            head = s3.head_object(Bucket=bucket, Key=obj["Key"])
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            path = os.path.join(out, str(len(index)))
            with open(path, "wb") as f:
                f.write(body)
            index.append({"key": obj["Key"],
                          "content_type": head.get("ContentType"),
                          "metadata": head.get("Metadata", {}),
                          "size": len(body), "file": path})
        if not page.get("IsTruncated"):
            break
        token = page["NextContinuationToken"]
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    print("%d objects" % len(index))


class _Unsigned:
    """A client config asking for UNSIGNED-PAYLOAD."""
    s3 = {"payload_signing_enabled": False}


class _AtTime(S3SigV4Auth):
    """botocore's S3 signer, at the X-Amz-Date the request was signed."""

    def __init__(self, amz_date, *args):
        super().__init__(*args)
        self.amz_date = amz_date

    def add_auth(self, request):
        request.context["timestamp"] = self.amz_date
        self._modify_request_before_signing(request)
        creq = self.canonical_request(request)
        sts = self.string_to_sign(request, creq)
        self._inject_signature_to_request(request,
                                          self.signature(sts, request))


def sign_check(path, secret):
    bad = 0
    n = 0
    for line in open(path):
        r = json.loads(line)
        h = {k.lower(): v for k, v in r["headers"]}
        ours = h["authorization"]
        # AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/s3/aws4_request, ...
        cred = ours.split("Credential=")[1].split(",")[0]
        ak, _, region, service, _ = cred.split("/")
        signed = ours.split("SignedHeaders=")[1].split(",")[0].split(";")
        headers = {name: h[name] for name in signed}
        req = AWSRequest(method=r["method"],
                         url="http://" + h["host"] + r["path"],
                         data=r["body"].encode("latin-1"), headers=headers)
        if h.get("x-amz-content-sha256") == "UNSIGNED-PAYLOAD":
            req.context["client_config"] = _Unsigned
        token = h.get("x-amz-security-token")
        auth = _AtTime(h["x-amz-date"], Credentials(ak, secret, token),
                       service, region)
        auth.add_auth(req)
        theirs = req.headers["Authorization"]
        n += 1
        if theirs == ours:
            print("same signature: %s %s" % (r["method"], r["path"]))
        else:
            bad += 1
            print("DIFFERENT: %s %s\n  ours:     %s\n  botocore: %s\n"
                  "  canonical request (botocore):\n%s" % (
                      r["method"], r["path"], ours, theirs,
                      auth.canonical_request(req)))
    print("%d requests, %d signed differently" % (n, bad))
    return 1 if bad or not n else 0


if __name__ == "__main__":
    if sys.argv[1] == "dump":
        dump(*sys.argv[2:5])
    elif sys.argv[1] == "sign-check":
        sys.exit(sign_check(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
