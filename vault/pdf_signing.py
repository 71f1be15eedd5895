"""PDF signatures on screenplay copies, so an authentic copy can be told from a forgery.

c2pa-python signs and reads video and images here, not PDF; a PDF carries its own standard
signature (PAdES / ISO 32000 signature dictionary), made with pyHanko by the same studio key
and certificate as the C2PA manifests, and checked against the same studio root. States use
the C2PA words: Trusted (intact, signed under the studio root), Valid (intact, someone else's
certificate), Invalid (changed after signing) or No signature.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from vault.errors import UsageError
from vault.provenance import SigningCredentials

PDF = "application/pdf"
_FIELD = "VaultCopy"

# pyHanko logs a full traceback when a chain does not reach a trust root, which is an
# answer here ("Valid", not "Trusted"), not an error.
for _name in ("pyhanko", "pyhanko_certvalidator"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class PdfSignature:
    state: str  # Trusted | Valid | Invalid | No signature
    signer: str | None = None
    reason: str | None = None


def sign_pdf(pdf: bytes, credentials: SigningCredentials, reason: str) -> bytes:
    """`pdf` with the studio's signature over all of it."""
    from pyhanko import keys
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    chain = list(keys.load_certs_from_pemder_data(credentials.chain_pem))
    signer = signers.SimpleSigner(
        signing_cert=chain[0],
        signing_key=keys.load_private_key_from_pemder_data(credentials.key_pem, passphrase=None),
        cert_registry=SimpleCertificateStore.from_certs(chain),
    )
    out = io.BytesIO()
    signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf)),
        signers.PdfSignatureMetadata(field_name=_FIELD, reason=reason),
        signer=signer,
        output=out,
    )
    return out.getvalue()


def read_pdf_signature(pdf: bytes, trust_anchor_pem: bytes | None) -> PdfSignature:
    """The state of the PDF's first signature, checked against `trust_anchor_pem`."""
    from pyhanko import keys
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        signatures = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
    except (PdfError, ValueError, KeyError) as exc:
        raise UsageError(f"not a readable PDF ({exc})", "give the PDF as it was delivered") from exc
    if not signatures:
        return PdfSignature("No signature")
    roots = list(keys.load_certs_from_pemder_data(trust_anchor_pem)) if trust_anchor_pem else []
    # The studio certificate is for signing (digitalSignature), not for non-repudiation.
    usage = KeyUsageConstraints(key_usage={"digital_signature"})
    signature = signatures[0]
    try:
        status = validate_pdf_signature(
            signature, ValidationContext(trust_roots=roots), key_usage_settings=usage
        )
    except Exception:  # a signature so broken pyHanko cannot evaluate it
        return PdfSignature("Invalid")
    signer = status.signing_cert.subject.native.get("common_name")
    reason = signature.sig_object.get("/Reason")
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE  # nothing appended since
    if not (status.intact and status.valid and whole):
        return PdfSignature("Invalid", signer, reason and str(reason))
    return PdfSignature("Trusted" if status.trusted else "Valid", signer, reason and str(reason))
