"""The studio's C2PA signing identity: a root CA and an es256 end-entity certificate.

C2PA validators want an end-entity certificate with digitalSignature, an extended
key usage they accept (emailProtection here), and AKI/SKI linking it to its issuer.
A production may later import a CA-issued certificate instead of this root.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT_VALIDITY = dt.timedelta(days=3650)
SIGNER_VALIDITY = dt.timedelta(days=730)


@dataclass(frozen=True)
class StudioCredentials:
    root_cert_pem: bytes
    root_key_pem: bytes
    signer_chain_pem: bytes  # end-entity first, then the root, as C2PA signers expect
    signer_key_pem: bytes


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        ]
    )


def _key_usage(certificates: bool) -> x509.KeyUsage:
    """A CA signs certificates (and CRLs); the end entity signs manifests."""
    return x509.KeyUsage(
        digital_signature=not certificates,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=certificates,
        crl_sign=certificates,
        encipher_only=False,
        decipher_only=False,
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def create_studio_credentials(production: str, now: dt.datetime | None = None) -> StudioCredentials:
    """Generate a fresh root CA and a C2PA signing certificate it issued."""
    now = now or dt.datetime.now(dt.UTC)
    not_before = now - dt.timedelta(minutes=5)  # tolerate small clock skew between machines
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(f"{production} Studio Root CA", production)
    root_ski = x509.SubjectKeyIdentifier.from_public_key(root_key.public_key())
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(now + ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            _key_usage(certificates=True),
            critical=True,
        )
        .add_extension(root_ski, critical=False)
        .sign(root_key, hashes.SHA256())
    )
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{production} C2PA Signer", production))
        .issuer_name(root_name)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(now + SIGNER_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            _key_usage(certificates=False),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )
    root_pem = root.public_bytes(serialization.Encoding.PEM)
    return StudioCredentials(
        root_cert_pem=root_pem,
        root_key_pem=_pem_key(root_key),
        signer_chain_pem=signer.public_bytes(serialization.Encoding.PEM) + root_pem,
        signer_key_pem=_pem_key(signer_key),
    )
