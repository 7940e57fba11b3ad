"""A real S3-compatible server for the tests: moto's server mode in a child process, once per
session (per xdist worker), on a free loopback port; each test gets a bucket of its own.

The app reaches it over HTTP with boto3, as it would reach MinIO or AWS: nothing is patched in
the test process, so app processes started by a test reach the same server.
"""

import secrets
import subprocess
import sys
import time

import boto3
import pytest
import requests

from smtp import free_port

START_SECONDS = 30
CREDENTIALS = {"S3_ACCESS_KEY_ID": "guichet-test", "S3_SECRET_ACCESS_KEY": "guichet-test-secret"}
REGION = "eu-west-1"


class MotoServer:
    def __init__(self, log_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "wb")  # noqa: SIM115  (closed by stop)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait(self):
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.process.returncode}")
            try:
                requests.get(f"{self.url}/moto-api/", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.2)
        raise RuntimeError(f"moto_server did not answer on {self.url} in {START_SECONDS}s")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["S3_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["S3_SECRET_ACCESS_KEY"],
        )

    def new_bucket(self):
        """A new, empty bucket; its name."""
        name = f"guichet-{secrets.token_hex(6)}"
        self.client().create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        return name

    def settings(self, bucket):
        """The app's config for this server and `bucket`."""
        return {
            "STORAGE_BACKEND": "s3",
            "S3_BUCKET": bucket,
            "S3_ENDPOINT_URL": self.url,
            "S3_REGION": REGION,
            **CREDENTIALS,
        }


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        yield server.wait()
    finally:
        server.stop()


@pytest.fixture
def s3_settings(s3_server):
    """The config of an app storing into a new bucket of the session's S3 server."""
    return s3_server.settings(s3_server.new_bucket())
