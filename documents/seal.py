"""The administration's electronic seal on the PDFs Guichet issues (PAdES, with pyHanko).

Each receipt and decision letter gets one certification signature made with the seal
certificate and key named by SEAL_CERT_FILE / SEAL_KEY_FILE (SEAL_KEY_PASSPHRASE when the key is
encrypted). Development, when those are unset, uses a self-signed certificate made once into
the instance folder's `seal/` as the app starts (`init_app`); production refuses to start
without a real one.

The signature certifies the document with DocMDP "fill forms and sign" rather than "no
changes": any edit of the content breaks it, while a later signature or document timestamp (for
long-term validation once a timestamp authority is reachable) can still be added. No timestamp
is requested: the signing time is the one the seal states (PAdES B-B).
"""

import asyncio
import logging
import os
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from asn1crypto import pem
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.x509.oid import NameOID
from flask import current_app
from flask_babel import lazy_gettext as _l
from pyhanko.keys import load_cert_from_pemder
from pyhanko.keys.internal import translate_pyca_cryptography_key_to_asn1
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers, validation
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

log = logging.getLogger(__name__)

FIELD_NAME = "Cachet"
LOCATION = "Namur"
RECEIPT_REASON = _l("Accusé de réception — Service public de Wallonie")
DEVELOPMENT_SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.COMMON_NAME, "Guichet — cachet de développement"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Service public de Wallonie (développement)"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
    ]
)
DEVELOPMENT_VALIDITY = timedelta(days=5 * 365 + 1)
# A seal certificate may carry either usage; ours carries both.
KEY_USAGE = KeyUsageConstraints(
    key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False
)


class SealError(RuntimeError):
    """The seal certificate or key cannot be used; the message says which setting to check."""


@dataclass(frozen=True)
class SealStatus:
    intact: bool  # the signed bytes are unchanged
    valid: bool  # intact, cryptographically sound, by the seal certificate, no forbidden change
    signer: str  # common name of the signing certificate ("" when there is no seal)


def _outside_event_loop(fn, *args, **kwargs):
    """pyHanko runs its own asyncio loop: when this thread already runs one (an async server,
    a browser-test driver), do the work in a short-lived thread instead."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def sign_pdf(data: bytes, reason=RECEIPT_REASON) -> bytes:
    """`data` with the administration's seal added as an incremental update."""
    config = current_app.config
    signer = _signer(config)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=str(reason),
        location=LOCATION,
        certify=True,
        docmdp_permissions=fields.MDPPerm.FILL_FORMS,
    )
    writer = IncrementalPdfFileWriter(BytesIO(data))
    # One signature at a time per process: the certificate's ASN.1 objects, shared by the
    # worker's threads, are decoded lazily by asn1crypto, which is not safe across threads
    # (a name read half-decoded; PdfSigner reads them too). The lock costs nothing: the
    # signing holds the GIL anyway.
    with signer.lock:
        pdf_signer = signers.PdfSigner(meta, signer=signer)
        sealed = _outside_event_loop(
            pdf_signer.sign_pdf, writer, bytes_reserved=signer.reserved
        ).getvalue()
        if signer.reserved is None:  # the room reserved for the first signature will do
            embedded = PdfFileReader(BytesIO(sealed)).embedded_signatures[0]
            signer.reserved = 2 * len(embedded.sig_object["/Contents"])  # hexadecimal digits
    return sealed


def verify_seal(data: bytes) -> SealStatus:
    """Check the first signature of `data` against the configured seal certificate."""
    cert_file = current_app.config["SEAL_CERT_FILE"]
    root = _certificate(cert_file, os.stat(cert_file).st_mtime_ns)
    try:
        embedded = PdfFileReader(BytesIO(data)).embedded_signatures
    except (PdfError, ValueError) as exc:
        log.info("Seal check: unreadable PDF (%s)", exc)
        return SealStatus(intact=False, valid=False, signer="")
    if not embedded:
        return SealStatus(intact=False, valid=False, signer="")
    status = _outside_event_loop(
        validation.validate_pdf_signature,
        embedded[0],
        ValidationContext(trust_roots=[root], allow_fetching=False),
        key_usage_settings=KEY_USAGE,
    )
    subject = status.signing_cert.subject.native if status.signing_cert else {}
    return SealStatus(
        intact=bool(status.intact),
        valid=bool(status.bottom_line),
        signer=subject.get("common_name", ""),
    )


def _signer(config):
    cert_file, key_file = config["SEAL_CERT_FILE"], config["SEAL_KEY_FILE"]
    if not (cert_file and key_file):
        raise SealError("SEAL_CERT_FILE and SEAL_KEY_FILE must name the seal certificate and key.")
    try:
        stamp = tuple(os.stat(p).st_mtime_ns for p in (cert_file, key_file))
    except OSError as exc:
        raise SealError(
            f"Seal file unreadable ({exc}): check SEAL_CERT_FILE and SEAL_KEY_FILE."
        ) from exc
    key = (cert_file, key_file, config.get("SEAL_KEY_PASSPHRASE"), stamp)
    with _SIGNERS_LOCK:  # one load per process, however many worker threads ask at once
        signer = _SIGNERS.get(key)
        if signer is None:
            signer = _load_signer(*key[:3])
            _SIGNERS.clear()  # a changed file replaces the signer of its old version
            _SIGNERS[key] = signer
    return signer


# The signer of each (cert, key, passphrase, files' modification times): loaded once per
# process and kept, so a key replaced on disk is loaded again at the next document.
_SIGNERS = {}
_SIGNERS_LOCK = threading.Lock()


def _load_signer(cert_file, key_file, passphrase):
    """The seal's signer: the certificate and the private key read and parsed once."""
    try:
        key_bytes = Path(key_file).read_bytes()
        load = (
            serialization.load_pem_private_key
            if pem.detect(key_bytes)
            else serialization.load_der_private_key
        )
        private_key = load(key_bytes, password=passphrase.encode() if passphrase else None)
        certificate = load_cert_from_pemder(cert_file)
        certificate.native  # noqa: B018  decoded whole before the threads share it
    except (OSError, ValueError, TypeError) as exc:
        raise SealError(
            f"Cannot load the seal key {key_file} with certificate {cert_file} ({exc}): check "
            "SEAL_KEY_FILE, SEAL_CERT_FILE and SEAL_KEY_PASSPHRASE."
        ) from exc
    return SealSigner(private_key, certificate)


class SealSigner(signers.SimpleSigner):
    """pyHanko's in-memory signer, with the key parsed once and one signature per document.

    SimpleSigner parses its private key again for every signature (an RSA-3072 key is checked
    each time it is parsed: about 0.1 s), and pyHanko signs a first time only to learn how long
    the signature will be (a dry run); here the parsed key is kept, the dry run of an RSA key
    answers with bytes of the length its signature has, without signing, and the room the first
    document reserved for its signature is reserved for the next ones (`reserved`: the size of
    a seal's signature does not depend on the document) without estimating it again."""

    def __init__(self, private_key, certificate):
        super().__init__(
            signing_cert=certificate,
            signing_key=translate_pyca_cryptography_key_to_asn1(private_key),
            cert_registry=SimpleCertificateStore(),
        )
        self.private_key = private_key
        self.reserved = None
        self.lock = threading.Lock()

    async def async_sign_raw(self, data, digest_algorithm, dry_run=False):
        if dry_run and isinstance(self.private_key, RSAPrivateKey):
            return bytes((self.private_key.key_size + 7) // 8)
        return self.sign_raw(data, digest_algorithm)

    def sign_raw(self, data, digest_algorithm):
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        if mechanism == "rsassa_pkcs1v15" and isinstance(self.private_key, RSAPrivateKey):
            return self.private_key.sign(
                data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm)
            )
        if mechanism == "ecdsa" and isinstance(self.private_key, EllipticCurvePrivateKey):
            return self.private_key.sign(data, ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        return super().sign_raw(data, digest_algorithm)  # other kinds of key: pyHanko's way


@lru_cache(maxsize=4)
def _certificate(cert_file, _stamp):
    certificate = load_cert_from_pemder(cert_file)
    certificate.native  # noqa: B018  decoded whole now: read-only for the threads that share it
    return certificate


def init_app(app):
    """Without SEAL_CERT_FILE and SEAL_KEY_FILE, development seals with the self-signed
    certificate of the instance folder (made on first start, then reused)."""
    config = app.config
    if config["INSTANCE_DEFAULTS"] and not (config["SEAL_CERT_FILE"] or config["SEAL_KEY_FILE"]):
        config["SEAL_CERT_FILE"], config["SEAL_KEY_FILE"] = development_seal_files(
            app.instance_path
        )


def development_seal_files(instance_dir):
    """(cert, key) paths of the development seal in `instance_dir/seal/`, made on first call.

    The files are written to a private staging folder renamed into place, so that two
    processes starting together end up sharing one certificate and its key."""
    folder = Path(instance_dir) / "seal"
    cert, key = folder / "cert.pem", folder / "key.pem"
    if not (cert.is_file() and key.is_file()):
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".seal-", dir=folder.parent))
        for name, content in zip(("cert.pem", "key.pem"), _self_signed_seal(), strict=True):
            path = staging / name
            path.touch(mode=0o600)
            path.write_bytes(content)
        try:
            staging.rename(folder)
        except OSError:  # another process was first, or a folder is in the way
            shutil.rmtree(staging)
        if not (cert.is_file() and key.is_file()):
            raise SealError(f"{folder} lacks cert.pem or key.pem: remove it to make a new one.")
    return str(cert), str(key)


def _self_signed_seal():
    """(certificate, private key) in PEM of a new self-signed RSA-3072 development seal."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(DEVELOPMENT_SUBJECT)
        .issuer_name(DEVELOPMENT_SUBJECT)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + DEVELOPMENT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return (
        certificate.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
