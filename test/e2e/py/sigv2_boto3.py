"""boto3 on SigV2 (botocore's own HmacV1 signers), for test/e2e/sigv2.test.ts.

usage: sigv2_boto3.py ops     ENDPOINT BUCKET ACCESS_KEY SECRET_KEY PREFIX
       sigv2_boto3.py presign ENDPOINT BUCKET ACCESS_KEY SECRET_KEY KEY EXPIRES

ops: header-signed requests with Config(signature_version='s3'); prints one JSON object with what
each call returned (or its error code), so the test can compare the proxy with the backend itself.
presign: URLs from generate_presigned_url on a client with the DEFAULT config (SigV2 in botocore 1.43).
"""
import hashlib
import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

mode, endpoint, bucket, ak, sk = sys.argv[1:6]


def client(**cfg):
    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk, region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **cfg),
    )


def attempt(fn):
    try:
        return fn()
    except ClientError as e:
        return {"error": e.response["Error"].get("Code"), "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}


if mode == "presign":
    key, expires = sys.argv[6], int(sys.argv[7])
    c = client()
    p = {"Bucket": bucket, "Key": key}
    print(json.dumps({
        "get": c.generate_presigned_url("get_object", Params=p, ExpiresIn=expires),
        "put": c.generate_presigned_url("put_object", Params=p, ExpiresIn=expires),
        "head": c.generate_presigned_url("head_object", Params=p, ExpiresIn=expires),
        "get_disposition": c.generate_presigned_url("get_object", Params={**p, "ResponseContentDisposition": 'attachment; filename="x y.txt"'}, ExpiresIn=expires),
    }))
    sys.exit(0)

prefix = sys.argv[6]
c = client(signature_version="s3")
out = {}
key = prefix + "hello é+(1).txt"
body = b"sigv2 body " * 1000
out["put"] = attempt(lambda: c.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/x-v2", Metadata={"via": "sigv2"})["ResponseMetadata"]["HTTPStatusCode"])
out["put_md5_ok"] = attempt(lambda: c.put_object(Bucket=bucket, Key=prefix + "md5.txt", Body=b"abc", ContentMD5="kAFQmDzST7DWlj99KOF/cg==")["ResponseMetadata"]["HTTPStatusCode"])
out["put_md5_bad"] = attempt(lambda: c.put_object(Bucket=bucket, Key=prefix + "md5-bad.txt", Body=b"abd", ContentMD5="kAFQmDzST7DWlj99KOF/cg==")["ResponseMetadata"]["HTTPStatusCode"])


def head():
    h = c.head_object(Bucket=bucket, Key=key)
    return {"type": h["ContentType"], "length": h["ContentLength"], "meta": h["Metadata"]}


out["head"] = attempt(head)
out["get_sha"] = attempt(lambda: hashlib.sha256(c.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest())
out["get_range"] = attempt(lambda: c.get_object(Bucket=bucket, Key=key, Range="bytes=0-4")["Body"].read().decode())
out["get_override"] = attempt(lambda: c.get_object(Bucket=bucket, Key=key, ResponseContentType="text/override")["ContentType"])
out["copy"] = attempt(lambda: c.copy_object(Bucket=bucket, Key=prefix + "copy.txt", CopySource={"Bucket": bucket, "Key": key})["ResponseMetadata"]["HTTPStatusCode"])


def multipart():
    k = prefix + "multi part.bin"
    up = c.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"]
    part1 = c.upload_part(Bucket=bucket, Key=k, UploadId=up, PartNumber=1, Body=b"a" * 5 * 1024 * 1024)
    part2 = c.upload_part(Bucket=bucket, Key=k, UploadId=up, PartNumber=2, Body=b"tail")
    c.complete_multipart_upload(Bucket=bucket, Key=k, UploadId=up, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part1["ETag"]}, {"PartNumber": 2, "ETag": part2["ETag"]}]})
    return c.head_object(Bucket=bucket, Key=k)["ContentLength"]


out["multipart_length"] = attempt(multipart)
out["list"] = attempt(lambda: sorted(o["Key"][len(prefix):] for o in c.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])))
out["list_v1"] = attempt(lambda: sorted(o["Key"][len(prefix):] for o in c.list_objects(Bucket=bucket, Prefix=prefix).get("Contents", [])))
out["missing"] = attempt(lambda: c.get_object(Bucket=bucket, Key=prefix + "nope"))
out["acl_owner"] = attempt(lambda: bool(c.get_object_acl(Bucket=bucket, Key=key)["Owner"]))
for k in [key, prefix + "copy.txt", prefix + "md5.txt", prefix + "md5-bad.txt", prefix + "multi part.bin"]:
    out["delete " + k[len(prefix):]] = attempt(lambda: c.delete_object(Bucket=bucket, Key=k)["ResponseMetadata"]["HTTPStatusCode"])
out["after_delete"] = attempt(lambda: sorted(o["Key"][len(prefix):] for o in c.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])))
print(json.dumps(out, sort_keys=True))
