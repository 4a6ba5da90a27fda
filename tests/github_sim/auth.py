"""Credentials: RSA key pairs for simulated Apps, App JWT checks, installation tokens."""

from __future__ import annotations

import functools
import secrets
import string
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# GitHub refuses an App JWT whose lifetime (exp - iat) exceeds ten minutes.
MAX_JWT_LIFETIME = 600
# Tolerated clock drift when checking iat and exp.
JWT_LEEWAY = 30
TOKEN_ALPHABET = string.ascii_letters + string.digits

BAD_CREDENTIALS = "Bad credentials"
JWT_UNDECODABLE = "A JSON web token could not be decoded"
JWT_EXPIRED = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time at which "
    "the assertion expires"
)
JWT_TOO_LONG = "'Expiration time' claim ('exp') is too far in the future"
JWT_NO_APP = "Integration not found"


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str


def generate_key_pair() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(private.decode(), public.decode())


@functools.cache
def shared_key_pair() -> KeyPair:
    """One key pair per test process: generating RSA keys costs ~0.1 s each."""
    return generate_key_pair()


def new_token() -> str:
    # Installation tokens look like "ghs_" followed by 36 alphanumerics.
    return "ghs_" + "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(36))


def new_secret(length: int = 40) -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(length))


class JwtRejected(Exception):
    """The App JWT is not acceptable; the message is GitHub's."""


def jwt_issuer(token: str) -> str:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise JwtRejected(JWT_UNDECODABLE) from error
    issuer = claims.get("iss")
    if issuer is None:
        raise JwtRejected(JWT_UNDECODABLE)
    return str(issuer)


def verify_jwt(token: str, public_pem: str) -> None:
    """Check the signature (RS256), iat and exp as GitHub does for App authentication."""
    try:
        claims = jwt.decode(
            token,
            public_pem,
            algorithms=["RS256"],
            options={"require": ["iat", "exp", "iss"]},
            leeway=JWT_LEEWAY,
        )
    except jwt.ExpiredSignatureError as error:
        raise JwtRejected(JWT_EXPIRED) from error
    except jwt.PyJWTError as error:
        raise JwtRejected(JWT_UNDECODABLE) from error
    if int(claims["exp"]) - int(claims["iat"]) > MAX_JWT_LIFETIME:
        raise JwtRejected(JWT_TOO_LONG)
