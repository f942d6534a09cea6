"""boto3 (SigV4, default settings) sending a non-ASCII x-amz-meta-* value, for test/e2e/transparency.test.ts.

usage: nonascii_meta.py ENDPOINT BUCKET KEY ACCESS_KEY SECRET_KEY
botocore refuses non-ASCII Metadata= values, so (like the s3-tests conformance suite) the header is
added in 'before-sign': botocore sends it as UTF-8 bytes and signs those bytes.
Prints one JSON object: the PutObject status (or error code) and the stored metadata.
"""
import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, bucket, key, ak, sk = sys.argv[1:6]
c = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk, region_name="us-east-1",
                 config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def add_header(request, **_):
    request.headers["x-amz-meta-greeting"] = "Hello World\u00e9"


c.meta.events.register_first("before-sign.s3.PutObject", add_header)
out = {}
try:
    out["put"] = c.put_object(Bucket=bucket, Key=key, Body=b"meta")["ResponseMetadata"]["HTTPStatusCode"]
    raw = c.head_object(Bucket=bucket, Key=key)["ResponseMetadata"]["HTTPHeaders"].get("x-amz-meta-greeting")
    out["stored"] = raw.encode("latin-1").hex() if raw is not None else None
except ClientError as e:
    out["error"] = [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"].get("Code")]
print(json.dumps(out))
