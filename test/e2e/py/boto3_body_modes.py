"""boto3 upload body modes through the proxy, with botocore's default checksum settings.

Usage: python3 boto3_body_modes.py ENDPOINT BUCKET ACCESS_KEY SECRET_KEY PREFIX
Uploads several objects (put_object with bytes / a file object / ChecksumAlgorithm, upload_fileobj
single-part and multipart, with and without ChecksumAlgorithm=SHA256), then delete_objects on two of them.
Prints one JSON line: {"objects": {key: sha256hex}, "deleted": [keys], "errors": [...]}; the caller
reads every object back directly from the backend. No client-side workaround: no checksum
settings changed, no Content-MD5 injected.
"""
import hashlib
import io
import json
import os
import sys

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

endpoint, bucket, ak, sk, prefix = sys.argv[1:6]
s3 = boto3.client(
    "s3",
    endpoint_url=endpoint,
    aws_access_key_id=ak,
    aws_secret_access_key=sk,
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
)
MIB = 1024 * 1024
objects = {}
errors = []


def record(key, data):
    objects[key] = hashlib.sha256(data).hexdigest()


def attempt(label, fn):
    try:
        fn()
    except Exception as e:  # reported, the caller fails the test with the details
        errors.append(f"{label}: {type(e).__name__}: {e}")


def put_bytes():
    data = os.urandom(300 * 1024 + 3)
    s3.put_object(Bucket=bucket, Key=f"{prefix}/put-bytes", Body=data)
    record(f"{prefix}/put-bytes", data)


def put_fileobj():
    data = os.urandom(1 * MIB + 11)
    s3.put_object(Bucket=bucket, Key=f"{prefix}/put-fileobj", Body=io.BytesIO(data))
    record(f"{prefix}/put-fileobj", data)


def put_sha256():
    data = os.urandom(200 * 1024)
    s3.put_object(Bucket=bucket, Key=f"{prefix}/put-sha256", Body=data, ChecksumAlgorithm="SHA256")
    record(f"{prefix}/put-sha256", data)


def upload_small():
    data = os.urandom(2 * MIB + 1)
    s3.upload_fileobj(io.BytesIO(data), bucket, f"{prefix}/upload-small")
    record(f"{prefix}/upload-small", data)


def upload_multipart(alg):
    data = os.urandom(12 * MIB + 5)
    key = f"{prefix}/upload-multipart-{alg or 'default'}"
    extra = {"ChecksumAlgorithm": alg} if alg else None
    cfg = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=2)
    s3.upload_fileobj(io.BytesIO(data), bucket, key, ExtraArgs=extra, Config=cfg)
    record(key, data)


attempt("put_object bytes", put_bytes)
attempt("put_object file object", put_fileobj)
attempt("put_object ChecksumAlgorithm=SHA256", put_sha256)
attempt("upload_fileobj single part", upload_small)
attempt("upload_fileobj multipart", lambda: upload_multipart(None))
# (CRC32C would need botocore[crt]; SHA256 and CRC32 are built in.)
attempt("upload_fileobj multipart SHA256", lambda: upload_multipart("SHA256"))

deleted = []


def delete_two():
    for k in ("gone-1", "gone-2"):
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{k}", Body=k.encode())
    out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"{prefix}/gone-1"}, {"Key": f"{prefix}/gone-2"}]})
    deleted.extend(sorted(d["Key"] for d in out.get("Deleted", [])))
    if out.get("Errors"):
        errors.append(f"delete_objects: {out['Errors']}")


attempt("delete_objects", delete_two)
print(json.dumps({"objects": objects, "deleted": deleted, "errors": errors}))
