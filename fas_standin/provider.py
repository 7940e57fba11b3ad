"""The OpenID Connect provider of the stand-in, built on Authlib's authorization server.

Authorization codes and access tokens are `FasGrant` rows (hashed, single use, short-lived);
ID tokens are signed RS256 with a key generated once into instance/.
"""

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo, UserInfoEndpoint
from authlib.oidc.core.grants import OpenIDCode
from flask import current_app
from joserfc.jwk import RSAKey

from models import FasGrant, utcnow

from . import identities

CODE_TTL = timedelta(minutes=5)
TOKEN_TTL = 600
# The level each means gives, as FAS levels of assurance are named.
LEVELS = {"eid": "high", "itsme": "high", "sms": "substantial", "email": "substantial"}


def digest(value):
    return hashlib.sha256(value.encode()).hexdigest()


def issuer():
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/fas"


def signing_key():
    """The provider's RSA key, generated into instance/ on first use."""
    path = Path(current_app.instance_path) / "fas_standin_jwk.json"
    if not path.exists():
        key = RSAKey.generate_key(2048, parameters={"kid": f"standin-{int(time.time())}"})
        path.write_text(json.dumps(key.as_dict(private=True)))
        path.chmod(0o600)
    return RSAKey.import_key(json.loads(path.read_text()))


def public_jwks():
    return {"keys": [signing_key().as_dict(private=False)]}


@dataclass(frozen=True)
class FasUser:
    national_number: str
    method: str
    auth_time: datetime

    def get_user_id(self):
        return self.national_number


class Client(ClientMixin):
    """The one relying party the stand-in knows: the portal, from the config."""

    def __init__(self, config):
        self.client_id = config["OIDC_CLIENT_ID"]
        self.client_secret = config["OIDC_CLIENT_SECRET"]
        base = config["PUBLIC_BASE_URL"].rstrip("/")
        self.redirect_uris = [base + "/auth/callback"]
        self.client_metadata = {}

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope):
        allowed = {"openid", "profile", "egovnrn"}
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        return bool(client_secret) and client_secret == self.client_secret

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


class AuthorizationCode:
    """A FasGrant row seen as Authlib's authorization code."""

    def __init__(self, row):
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self):
        return self.row.redirect_uri

    def get_scope(self):
        return self.row.scope

    def get_nonce(self):
        return self.row.nonce

    def get_auth_time(self):
        return int(self.row.auth_time.timestamp())

    def get_acr(self):
        return LEVELS.get(self.row.auth_method)

    def get_amr(self):
        return [self.row.auth_method]


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def save_authorization_code(self, code, request):
        user = request.user
        FasGrant.create(
            code_hash=digest(code),
            client_id=request.client.get_client_id(),
            redirect_uri=request.payload.redirect_uri,
            scope=request.payload.scope,
            nonce=request.payload.data.get("nonce"),
            code_challenge=request.payload.data.get("code_challenge"),
            code_challenge_method=request.payload.data.get("code_challenge_method"),
            national_number=user.national_number,
            auth_method=user.method,
            auth_time=user.auth_time,
            expires_at=utcnow() + CODE_TTL,
        )

    def query_authorization_code(self, code, client):
        row = FasGrant.get_or_none(FasGrant.code_hash == digest(code))
        if row is None or row.client_id != client.get_client_id():
            return None
        if row.used_at is not None or row.expires_at <= utcnow():
            return None
        return AuthorizationCode(row)

    def delete_authorization_code(self, authorization_code):
        FasGrant.update(used_at=utcnow()).where(FasGrant.id == authorization_code.row.id).execute()

    def authenticate_user(self, authorization_code):
        row = authorization_code.row
        return FasUser(row.national_number, row.auth_method, row.auth_time)


def user_claims(user):
    """The claims FAS gives: egovNRN, surname, givenName, mail, prefLanguage."""
    person = identities.by_national_number(user.national_number)
    return UserInfo(
        sub=digest(f"{issuer()}|{user.national_number}")[:32],
        egovNRN=person.national_number,
        surname=person.surname,
        givenName=person.given_name,
        mail=person.email,
        prefLanguage=person.language,
    )


class StandInOpenIDCode(OpenIDCode):
    def exists_nonce(self, nonce, request):
        return (
            FasGrant.select()
            .where(FasGrant.client_id == request.payload.client_id, FasGrant.nonce == nonce)
            .exists()
        )

    def resolve_client_private_key(self, client):
        return signing_key()

    def get_client_algorithm(self, client):
        return "RS256"

    def get_encode_header(self, client):
        return {"alg": "RS256", "kid": signing_key().kid}

    def get_client_claims(self, client):
        return {"iss": issuer(), "aud": [client.get_client_id()], "exp": int(time.time()) + 600}

    def generate_user_info(self, user, scope):
        return user_claims(user)


class Token:
    """A FasGrant row seen as Authlib's bearer token, for the userinfo endpoint."""

    def __init__(self, row, client):
        self.row = row
        self.client = client
        self.scope = row.scope

    def get_scope(self):
        return self.row.scope

    def get_expires_in(self):
        return TOKEN_TTL

    def is_expired(self):
        return self.row.access_expires_at <= utcnow()

    def is_revoked(self):
        return False

    def get_client(self):
        return self.client

    def get_user(self):
        return FasUser(self.row.national_number, self.row.auth_method, self.row.auth_time)


class StandInTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string):
        row = FasGrant.get_or_none(FasGrant.access_token_hash == digest(token_string or ""))
        return Token(row, Client(current_app.config)) if row else None


class StandInUserInfo(UserInfoEndpoint):
    def get_issuer(self):
        return issuer()

    def generate_user_info(self, user, scope):
        return user_claims(user)

    def resolve_private_key(self):
        return signing_key()


def save_token(token, request):
    code = getattr(request, "authorization_code", None)
    if code is None:
        return
    FasGrant.update(
        access_token_hash=digest(token["access_token"]),
        access_expires_at=utcnow() + timedelta(seconds=token.get("expires_in", TOKEN_TTL)),
    ).where(FasGrant.id == code.row.id).execute()


def make_server(app):
    server = AuthorizationServer(
        app,
        query_client=lambda client_id: (
            Client(app.config) if client_id == app.config["OIDC_CLIENT_ID"] else None
        ),
        save_token=save_token,
    )
    server.register_grant(
        AuthorizationCodeGrant,
        [StandInOpenIDCode(require_nonce=True), CodeChallenge(required=True)],
    )
    protector = ResourceProtector()
    protector.register_token_validator(StandInTokenValidator())
    server.register_endpoint(StandInUserInfo(resource_protector=protector))
    return server
