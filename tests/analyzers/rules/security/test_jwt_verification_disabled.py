"""FL006 jwt-verification-disabled beyond its examples: libraries, what decides, diff mode."""

from __future__ import annotations

import textwrap

import pytest

from faultline.analyzers.core.findings import Finding
from faultline.analyzers.core.rule import Valid
from faultline.analyzers.core.testing import run_example
from faultline.analyzers.rules.security.jwt_verification_disabled import JwtVerificationDisabled


def check(code: str, base: str | None = None) -> list[Finding]:
    example = Valid(
        textwrap.dedent(code), path="app/auth.py", base=None if base is None else textwrap.dedent(base)
    )
    return run_example(JwtVerificationDisabled, example)


def lines(findings: list[Finding]) -> list[int]:
    return [finding.line for finding in findings]


def test_imports_under_other_names_are_resolved() -> None:
    code = """\
        import jwt as pyjwt
        from jwt import decode

        a = pyjwt.decode(token, KEY)
        b = decode(token, KEY)
        c = pyjwt.PyJWT().decode(token, KEY)
        """
    assert lines(check(code)) == [4, 5, 6]


def test_a_local_decode_is_not_pyjwt() -> None:
    assert check("def decode(token, key):\n    return key\n\nclaims = decode(token, KEY)\n") == []


def test_options_given_through_a_name_are_read() -> None:
    code = """\
        import jwt

        def load(token):
            opts = {"verify_exp": False}
            return jwt.decode(token, KEY, algorithms=["HS256"], options=opts)
        """
    (finding,) = check(code)
    assert "not to check `exp`" in finding.message


def test_pyjwt_1_verify_false_deciding_an_if() -> None:
    code = """\
        import jwt

        def is_admin(token):
            claims = jwt.decode(token, verify=False)
            if claims["role"] == "admin":
                return True
            return False
        """
    (finding,) = check(code)
    assert finding.line == 5
    assert "decide the `if` on line 5" in finding.message


def test_claims_derived_through_names_are_followed() -> None:
    code = """\
        from jose import jwt

        def user_for(token):
            claims = jwt.get_unverified_claims(token)
            email = claims["email"]
            g.user = User.query.filter_by(email=email).one()
        """
    (finding,) = check(code)
    assert "set `g.user`" in finding.message


def test_a_verifying_decode_in_the_same_function_makes_the_read_a_key_lookup() -> None:
    code = """\
        from jose import jwt

        def verify(token):
            claims = jwt.get_unverified_claims(token)
            if claims["tenant"] not in TENANTS:
                raise Unauthorized()
            return jwt.decode(token, TENANTS[claims["tenant"]], algorithms=["RS256"])
        """
    assert check(code) == []


@pytest.mark.parametrize("name", ["get_unverified_claims", "peek_claims"])
def test_a_helper_that_says_it_does_not_verify(name: str) -> None:
    code = f"from jose import jwt\n\ndef {name}(token):\n    return jwt.get_unverified_claims(token)\n"
    assert check(code) == []


def test_the_unverified_header_only_matters_as_algorithms() -> None:
    code = """\
        import jwt

        def verify(token):
            header = jwt.get_unverified_header(token)
            if header["alg"] != "RS256":
                raise Unauthorized()
            return jwt.decode(token, KEYS[header["kid"]], algorithms=["RS256"])
        """
    assert check(code) == []
    inline = "import jwt\n\nclaims = jwt.decode(t, K, algorithms=jwt.get_unverified_header(t)['alg'])\n"
    assert "unverified header" in check(inline)[0].message


def test_authlib_claims_validated_or_never_read() -> None:
    validated = """\
        from authlib.jose import jwt

        def user_id(token):
            claims = jwt.decode(token, KEY)
            claims.validate()
            return claims["sub"]
        """
    assert check(validated) == []
    assert check("from authlib.jose import jwt\n\ndef load(t):\n    return jwt.decode(t, KEY)\n") == []


def test_authlib_json_web_token_allowing_none() -> None:
    (finding,) = check("from authlib.jose import JsonWebToken\n\njwt = JsonWebToken(['RS256', 'none'])\n")
    assert "allows the `none` algorithm" in finding.message


def test_the_signature_off_without_a_decision_is_not_reported() -> None:
    code = """\
        import jwt

        def log_token(token):
            claims = jwt.decode(token, options={"verify_signature": False})
            logger.info("token for %s", claims.get("sub"))
        """
    assert check(code) == []


def test_diff_mode_an_added_read_before_an_old_decision_is_reported_on_the_read() -> None:
    base = """\
        import jwt

        def current_user(token):
            claims = jwt.decode(token, KEY, algorithms=["HS256"])
            return users.get(claims["sub"])
        """
    code = """\
        import jwt

        def current_user(token):
            claims = jwt.decode(token, options={"verify_signature": False})
            return users.get(claims["sub"])
        """
    assert lines(check(code, base=base)) == [4]


def test_a_suppression_comment_silences_it() -> None:
    code = "import jwt\n\nclaims = jwt.decode(token, KEY)  # faultline: ignore[jwt-verification-disabled]\n"
    assert check(code) == []


def test_unverified_claims_as_the_fallback_of_a_failed_verification() -> None:
    code = """\
        from jose import jwt

        async def current_user(token, db):
            try:
                payload = jwt.decode(token, KEY, algorithms=["HS256"])
                email = payload.get("sub")
            except Exception:
                payload = jwt.get_unverified_claims(token)
                email = payload.get("email") or payload.get("sub")
            if email is None:
                raise Unauthorized()
            return await db.scalar(select(User).where(User.email == email))
        """
    (finding,) = check(code)
    assert finding.line == 10
    assert "line 8) decide the `if` on line 10" in finding.message


def test_a_signature_checked_by_hand_before_the_claims_are_read() -> None:
    code = """\
        from jose import jwk, jwt

        def verify(token, jwk_data):
            message, signature = token.rsplit(".", 1)
            if not jwk.construct(jwk_data).verify(message.encode(), b64(signature)):
                raise Unauthorized()
            claims = jwt.get_unverified_claims(token)
            if claims.get("role") != "admin":
                raise Forbidden()
            return claims
        """
    assert check(code) == []


def test_a_token_the_function_made_itself() -> None:
    code = """\
        from jose import jwt

        def login(user):
            refresh = create_refresh_token({"sub": user.id})
            claims = jwt.get_unverified_claims(refresh)
            if claims.get("sid"):
                sessions.add(claims["sid"])
            return refresh
        """
    assert check(code) == []


def test_a_permission_check_on_unverified_claims() -> None:
    code = """\
        from jose import jwt

        class Bearer:
            def has_permission(self, token):
                permissions = jwt.get_unverified_claims(token)["permissions"]
                return self.permission in permissions
        """
    (finding,) = check(code)
    assert finding.line == 6
    assert "decide what `has_permission` returns" in finding.message


def test_the_functions_that_decode_are_judged_among_many_that_do_not() -> None:
    quiet = "\n".join(f"def f{i}(value):\n    return value.decode('utf-8')\n" for i in range(30))
    code = f"""\
import jwt
from jose import jwt as jose_jwt

{quiet}
token_claims = jwt.decode(TOKEN, KEY)

def outer(token):
    def inner():
        return jwt.decode(token, KEY, algorithms=["HS256"], options={{"verify_exp": False}})
    return inner()

def who(token):
    claims = jose_jwt.get_unverified_claims(token)
    if claims["role"] == "admin":
        return True
    return False
"""
    source_lines = code.splitlines()
    assert [source_lines[line - 1].strip() for line in lines(check(code))] == [
        "token_claims = jwt.decode(TOKEN, KEY)",
        'return jwt.decode(token, KEY, algorithms=["HS256"], options={"verify_exp": False})',
        'if claims["role"] == "admin":',
    ]
