"""Mints presigned URLs with boto3 (botocore's signer, independent of the proxy's code).

usage: presign_boto3.py ENDPOINT BUCKET KEY ACCESS_KEY SECRET_KEY
prints one JSON object: SigV4 URLs for get/head/put(content-type signed)/delete, and the URL
boto3 makes without signature_version (SigV2 for presigning in botocore 1.x).
"""
import json
import sys

import boto3
from botocore.config import Config

endpoint, bucket, key, ak, sk = sys.argv[1:6]


def client(**cfg):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ak,
        aws_secret_access_key=sk,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, **cfg),
    )


v4 = client(signature_version="s3v4")
default = client()
p = {"Bucket": bucket, "Key": key}
print(
    json.dumps(
        {
            "put": v4.generate_presigned_url("put_object", Params={**p, "ContentType": "text/x-boto3"}, ExpiresIn=300),
            "get": v4.generate_presigned_url("get_object", Params=p, ExpiresIn=300),
            "head": v4.generate_presigned_url("head_object", Params=p, ExpiresIn=300),
            "delete": v4.generate_presigned_url("delete_object", Params=p, ExpiresIn=300),
            "default_get": default.generate_presigned_url("get_object", Params=p, ExpiresIn=300),
        }
    )
)
