"""The studio root CA and C2PA signer made at `vault init` are accepted by c2pa-python."""

from __future__ import annotations

import io
import json

import c2pa
import cv2
import numpy as np
import pyrage
import pytest
from conftest import UNSEAL
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from vault.studio_ca import create_studio_credentials


@pytest.fixture(scope="module")
def credentials():
    return create_studio_credentials("Test Film")


def test_chain_has_the_extensions_c2pa_validators_require(credentials) -> None:
    leaf, root = x509.load_pem_x509_certificates(credentials.signer_chain_pem)
    assert root == x509.load_pem_x509_certificate(credentials.root_cert_pem)
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert root.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
    assert leaf.public_key().curve.name == "secp256r1"
    leaf.verify_directly_issued_by(root)


def _signed_jpeg(credentials) -> bytes:
    ok, jpeg = cv2.imencode(
        ".jpg", np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)
    )
    assert ok
    info = c2pa.C2paSignerInfo(
        alg=b"es256",
        sign_cert=credentials.signer_chain_pem,
        private_key=credentials.signer_key_pem,
        ta_url=None,
    )
    manifest = {
        "claim_generator_info": [{"name": "vault-test", "version": "0"}],
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
                        }
                    ]
                },
            }
        ],
    }
    signed = io.BytesIO()
    c2pa.Builder(json.dumps(manifest)).sign(
        c2pa.Signer.from_info(info), "image/jpeg", io.BytesIO(jpeg.tobytes()), signed
    )
    return signed.getvalue()


def _state(data: bytes, trust_anchor: bytes | None) -> str:
    context = None
    if trust_anchor is not None:
        settings = c2pa.Settings.from_dict(
            {"verify": {"verify_trust": True}, "trust": {"trust_anchors": trust_anchor.decode()}}
        )
        context = c2pa.Context(settings=settings)
    return c2pa.Reader("image/jpeg", io.BytesIO(data), context=context).get_validation_state()


def test_c2pa_signature_is_trusted_under_the_studio_root(credentials) -> None:
    signed = _signed_jpeg(credentials)
    assert _state(signed, credentials.root_cert_pem) == "Trusted"
    assert _state(signed, None) == "Valid"
    other_root = create_studio_credentials("Another Studio").root_cert_pem
    assert _state(signed, other_root) != "Trusted"


def test_init_stores_the_keys_encrypted_to_the_vault(vault, home) -> None:
    keys = vault.unseal(UNSEAL)
    for name in ("studio-root-ca.key.age", "c2pa-signer.key.age"):
        sealed = (home / "keys" / name).read_bytes()
        assert b"PRIVATE KEY" not in sealed
        assert b"BEGIN PRIVATE KEY" in pyrage.decrypt(sealed, [keys.identity])
