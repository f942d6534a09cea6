"""boto3 through the proxy: put/get/list/delete with awkward keys and a multipart upload.

Usage: python3 boto3_roundtrip.py ENDPOINT BUCKET ACCESS_KEY SECRET_KEY
Prints one JSON line with what it saw; exits non-zero on any failure.
"""
import hashlib
import json
import os
import sys

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

endpoint, bucket, ak, sk = sys.argv[1:5]
s3 = boto3.client(
    "s3",
    endpoint_url=endpoint,
    aws_access_key_id=ak,
    aws_secret_access_key=sk,
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
)
keys = ["boto/plain.txt", "boto/with space+plus.txt", "boto/ünï-cødé.txt", "boto/a:b~c(d).txt"]
for k in keys:
    s3.put_object(Bucket=bucket, Key=k, Body=k.encode(), Metadata={"via": "boto3"})
got = {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read().decode() for k in keys}
listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="boto/").get("Contents", [])]
head = s3.head_object(Bucket=bucket, Key=keys[0])

# Multipart upload through upload_fileobj (5 MiB parts, 12 MiB object).
data = os.urandom(12 * 1024 * 1024 + 5)
import io
s3.upload_fileobj(io.BytesIO(data), bucket, "boto/multipart.bin", Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
back = s3.get_object(Bucket=bucket, Key="boto/multipart.bin")["Body"].read()

deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
print(json.dumps({
    "roundtrip_ok": all(got[k] == k for k in keys),
    "listed": sorted(listed),
    "metadata": head["Metadata"],
    "multipart_ok": hashlib.sha256(back).hexdigest() == hashlib.sha256(data).hexdigest(),
    "deleted": len(deleted.get("Deleted", [])),
}))
