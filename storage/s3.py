"""Objects in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, ...), for several servers.

A key `0a1b...` is the object `S3_PREFIX0a/1b/0a1b...`: the same fan-out as the local backend,
so a listing or a backup reads the same keys whatever the backend. An object is written by one
PUT, which the store makes visible whole or not at all: there are no temporary objects to sweep.
Each PUT carries the SHA-256 of its bytes (`x-amz-checksum-sha256`), which the store checks
before it keeps them, and the hexadecimal digest as the object's metadata `sha256`, the same
value as the row's `sha256` column. The bucket is not created here: it is made, private and
with versioning or object lock as the administration's policy says, before the app starts.
"""

import base64
import hashlib

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from flask_babel import lazy_gettext as _l

from config import ConfigError
from storage import KEY_PATTERN, Storage, check_key, new_key, register

MISSING = {"404", "NoSuchKey", "NotFound"}


@register("s3", label=_l("Stockage objet compatible S3 (S3_BUCKET)"))
class S3Storage(Storage):
    def __init__(self, config):
        super().__init__(config)
        self.bucket = config.get("S3_BUCKET")
        if not self.bucket:
            raise ConfigError(
                "STORAGE_BACKEND=s3 needs S3_BUCKET (and, for a store other than AWS, "
                "S3_ENDPOINT_URL such as https://s3.example:9000)."
            )
        self.prefix = config.get("S3_PREFIX") or ""
        self.client = boto3.client(
            "s3",
            endpoint_url=config.get("S3_ENDPOINT_URL") or None,
            region_name=config.get("S3_REGION") or None,
            # Unset: boto3's own chain (AWS_ACCESS_KEY_ID, ~/.aws, the instance's role).
            aws_access_key_id=config.get("S3_ACCESS_KEY_ID") or None,
            aws_secret_access_key=config.get("S3_SECRET_ACCESS_KEY") or None,
            config=BotoConfig(
                connect_timeout=config.get("S3_TIMEOUT_SECONDS", 10),
                read_timeout=config.get("S3_TIMEOUT_SECONDS", 10),
                retries={"max_attempts": 3, "mode": "standard"},
                s3={"addressing_style": config.get("S3_ADDRESSING_STYLE") or "auto"},
                # Our own SHA-256 is sent with each PUT; no other checksum is added.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def object_name(self, key):
        """The object that holds `key`; ValueError for a key of the wrong form."""
        check_key(key)
        return f"{self.prefix}{key[:2]}/{key[2:4]}/{key}"

    def put(self, data):
        key = new_key()
        self.put_as(key, data)
        return key

    def put_as(self, key, data):
        digest = hashlib.sha256(data)
        self.client.put_object(
            Bucket=self.bucket,
            Key=self.object_name(key),
            Body=data,
            ContentType="application/octet-stream",
            ChecksumSHA256=base64.b64encode(digest.digest()).decode("ascii"),
            Metadata={"sha256": digest.hexdigest()},
        )

    def put_file(self, source, sha256):
        """One PUT streamed from the file (boto3 reads it in chunks)."""
        key = new_key()
        self.client.put_object(
            Bucket=self.bucket,
            Key=self.object_name(key),
            Body=source,
            ContentType="application/octet-stream",
            ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode("ascii"),
            Metadata={"sha256": sha256},
        )
        return key

    def open(self, key):
        name = self.object_name(key)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=name)["Body"]
        except ClientError as error:
            if _missing(error):
                raise FileNotFoundError(name) from error
            raise

    def delete(self, key):
        # S3 answers a DELETE of an absent object with success, as the interface wants.
        self.client.delete_object(Bucket=self.bucket, Key=self.object_name(key))

    def exists(self, key):
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.object_name(key))
        except ClientError as error:
            if _missing(error):
                return False
            raise
        return True

    def listing(self):
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for entry in page.get("Contents", ()):
                name = entry["Key"].removeprefix(self.prefix)
                key = name.rpartition("/")[2]
                # Only objects at their key's place: anything else in the bucket is not ours.
                if KEY_PATTERN.fullmatch(key) and name == f"{key[:2]}/{key[2:4]}/{key}":
                    yield key, entry["LastModified"].timestamp()


def _missing(error):
    return error.response.get("Error", {}).get("Code") in MISSING
