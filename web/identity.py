"""Who is calling: the bearer token of a request's `Authorization` header."""

from common import tokens
from domain.errors import ErrorCode
from web.errors import ApiError


def bearer_token(header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header, however it is spaced."""
    if not header:
        raise ApiError(ErrorCode.UNAUTHENTICATED, "missing bearer token")
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        raise ApiError(ErrorCode.UNAUTHENTICATED, "expected 'Authorization: Bearer <token>'")
    return parts[1]


def verify_token(header: str | None, secret: str, issuer: str) -> tokens.Identity:
    """Turns an `Authorization` header into an identity, or refuses with 401.

    Tokens are remembered by the token alone, not the header, so that padding the
    header cannot fill memory with copies of one token.
    """
    return tokens.verify(bearer_token(header), secret, issuer)
