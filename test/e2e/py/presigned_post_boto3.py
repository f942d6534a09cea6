"""Mints a presigned POST with boto3 `generate_presigned_post` (botocore's signer, independent of
the proxy's code) and, when asked, posts a file with `requests` as a browser form would.

usage: presigned_post_boto3.py ENDPOINT BUCKET KEY ACCESS_KEY SECRET_KEY SIGVER FIELDS CONDITIONS EXPIRES [FILE]
  SIGVER      s3v4 or s3 (SigV2)
  FIELDS      JSON object of extra form fields, CONDITIONS JSON list of extra policy conditions
  FILE        path of a file to post as the `file` field (its name is the part's filename)
prints one JSON object: {"url", "fields"} and, with FILE, {"status", "headers", "body"} of the answer.
"""
import json
import os
import sys

import boto3
import requests
from botocore.config import Config

endpoint, bucket, key, ak, sk, sigver, fields, conditions, expires = sys.argv[1:10]
path = sys.argv[10] if len(sys.argv) > 10 else None

s3 = boto3.client(
    "s3",
    endpoint_url=endpoint,
    aws_access_key_id=ak,
    aws_secret_access_key=sk,
    region_name="us-east-1",
    config=Config(signature_version=sigver, s3={"addressing_style": "path"}),
)
post = s3.generate_presigned_post(bucket, key, Fields=json.loads(fields), Conditions=json.loads(conditions), ExpiresIn=int(expires))
out = {"url": post["url"], "fields": post["fields"]}
if path:
    with open(path, "rb") as f:
        r = requests.post(post["url"], data=post["fields"], files={"file": (os.path.basename(path), f, "application/x-from-part")}, allow_redirects=False, timeout=60)
    out.update({"status": r.status_code, "headers": dict(r.headers), "body": r.text})
print(json.dumps(out))
