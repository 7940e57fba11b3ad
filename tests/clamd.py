"""A real ClamAV daemon for the tests, started once per session (per xdist worker).

Its signature database is made here, since signature updates cannot be fetched: one `.ndb`
signature that matches the EICAR test string anywhere in a file (target type 0), so that a
valid PDF carrying it — what the PDF check lets through to the scanner — is found infected.
The daemon listens on a unix socket in its own temporary folder and runs in the foreground
as a child of the test process; it is stopped at the end of the session. Without the `clamd`
binary (`apt-get install -y clamav-daemon`) the tests that need it are skipped, except when
`CI` or `REQUIRE_CLAMD` is set: then they fail.
"""

import io
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Guichet.Test.EICAR"
START_SECONDS = 60


def clamd_binary():
    return shutil.which("clamd") or next(
        (p for p in ("/usr/sbin/clamd", "/usr/bin/clamd") if Path(p).is_file()), None
    )


def ping(socket_path, timeout=2):
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(str(socket_path))
            conn.sendall(b"zPING\0")
            return conn.recv(64).rstrip(b"\0") == b"PONG"
    except OSError:
        return False


def pdf_with_content(content):
    """A valid one-page PDF whose page content stream is `content`, stored as it is (no
    compression), so the bytes appear in the file."""
    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    stream = DecodedStreamObject()
    stream.set_data(content)
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def eicar_pdf():
    """A PDF that passes the content check and carries the EICAR string (as a comment of its
    page content)."""
    data = pdf_with_content(b"% " + EICAR + b"\n")
    assert EICAR in data
    return data


@pytest.fixture(scope="session")
def clamd_socket(tmp_path_factory):
    """The unix socket of a clamd running on the test signature only."""
    binary = clamd_binary()
    if binary is None:
        reason = "clamd is not installed (apt-get install -y clamav-daemon)"
        if os.environ.get("CI") or os.environ.get("REQUIRE_CLAMD"):
            pytest.fail(f"{reason}, and CI/REQUIRE_CLAMD asks for the antivirus tests")
        pytest.skip(f"{reason}: the antivirus tests need a real clamd")
    folder = tmp_path_factory.mktemp("clamd")
    (folder / "guichet-test.ndb").write_text(f"{SIGNATURE}:0:*:{EICAR.hex()}\n")
    socket_path = folder / "clamd.sock"
    config = folder / "clamd.conf"
    config.write_text(
        f"LocalSocket {socket_path}\n"
        f"DatabaseDirectory {folder}\n"
        f"TemporaryDirectory {folder}\n"
        "Foreground yes\n"
        "LogTime yes\n"
    )
    log_path = folder / "clamd.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [binary, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + START_SECONDS
        while not ping(socket_path):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"clamd did not start:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.1)
        yield str(socket_path)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
