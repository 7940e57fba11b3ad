"""ClamAV's daemon over its socket (a local unix socket, CLAMD_SOCKET, or TCP, CLAMD_HOST and
CLAMD_PORT), with the INSTREAM command: the bytes go in chunks, each after its length as four
big-endian bytes, and a zero length ends them; clamd answers one line, `stream: OK`,
`stream: <signature> FOUND` or `<reason> ERROR`. No library: the protocol is these few lines.
Every connection and read is bounded by CLAMD_TIMEOUT seconds.
"""

import socket
import struct

from flask_babel import lazy_gettext as _l

from antivirus import CLEAN, ERROR, INFECTED, Scanner, ScannerUnavailable, Verdict, register

CHUNK = 64 * 1024


@register("clamd", label=_l("ClamAV (clamd)"))
class ClamdScanner(Scanner):
    def __init__(self, config):
        super().__init__(config)
        self.socket_path = config.get("CLAMD_SOCKET")
        self.host = config.get("CLAMD_HOST")
        self.port = config.get("CLAMD_PORT")
        self.timeout = config.get("CLAMD_TIMEOUT") or 30

    def where(self):
        return self.socket_path or f"{self.host}:{self.port}"

    def connect(self):
        try:
            if self.socket_path:
                conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                conn.settimeout(self.timeout)
                conn.connect(self.socket_path)
                return conn
            return socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise ScannerUnavailable(f"clamd at {self.where()}: {exc}") from exc

    def command(self, name, data=None):
        """Send the null-terminated command `name` (with `data` streamed for INSTREAM) and
        return clamd's answer without its terminator."""
        with self.connect() as conn:
            try:
                conn.sendall(b"z" + name + b"\0")
                if data is not None:
                    for start in range(0, len(data), CHUNK):
                        chunk = data[start : start + CHUNK]
                        conn.sendall(struct.pack(">I", len(chunk)) + chunk)
                    conn.sendall(struct.pack(">I", 0))
                answer = bytearray()
                while not answer.endswith(b"\0"):
                    part = conn.recv(4096)
                    if not part:
                        break
                    answer += part
            except OSError as exc:
                raise ScannerUnavailable(f"clamd at {self.where()}: {exc}") from exc
        if not answer:
            raise ScannerUnavailable(f"clamd at {self.where()} closed without answering")
        return answer.rstrip(b"\0").decode("utf-8", "replace").strip()

    def scan(self, data):
        return parse(self.command(b"INSTREAM", data))

    def ping(self):
        try:
            return self.command(b"PING") == "PONG"
        except ScannerUnavailable:
            return False


def parse(answer):
    """The Verdict of clamd's answer to INSTREAM."""
    _stream, _sep, result = answer.partition(": ")
    if not _sep:
        result = answer
    if result == "OK":
        return Verdict(CLEAN)
    if result.endswith(" FOUND"):
        return Verdict(INFECTED, result.removesuffix(" FOUND").strip()[:200])
    return Verdict(ERROR, result.removesuffix(" ERROR").strip()[:200])
