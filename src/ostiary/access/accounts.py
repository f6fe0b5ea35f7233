"""Accounts and their access keys (the store side of `ostiary init` and `ostiary accounts`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ostiary.access import session_tokens
from ostiary.access.principals import Principal, PrincipalKind, root_principal
from ostiary.access.session_tokens import Session
from ostiary.crypto.secrets import SecretBox, new_access_key_id, new_secret_access_key
from ostiary.store import tables as t
from ostiary.store.db import Store, now
from ostiary.store.raw import RawSelect


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str
    account_id: str


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    created_at: str
    access_keys: int


def _new_account_id(conn: Connection) -> str:
    while True:
        candidate = str(secrets.randbelow(9 * 10**11) + 10**11)
        if conn.execute(select(t.accounts.c.id).where(t.accounts.c.id == candidate)).first() is None:
            return candidate


def insert_account(conn: Connection, name: str) -> str:
    """A new account (a fresh 12-digit id, no access key) within the caller's transaction: AWS
    Organizations' CreateAccount; its root has no credentials, as AWS's new member accounts."""
    acct = _new_account_id(conn)
    conn.execute(insert(t.accounts).values(id=acct, name=name, created_at=now()))
    return acct


def create_account(
    store: Store,
    box: SecretBox,
    name: str,
    account_id: str = "",
    access_key_id: str = "",
    secret_access_key: str = "",
) -> AccessKey:
    """Create an account and its root access key in one transaction."""
    with store.tx() as conn:
        acct = account_id or _new_account_id(conn)
        if len(acct) != 12 or not acct.isdigit():
            raise ValueError("an account id is 12 digits")
        conn.execute(insert(t.accounts).values(id=acct, name=name, created_at=now()))
        key = _add_root_key(conn, box, acct, access_key_id, secret_access_key)
    return key


def _add_root_key(conn: Connection, box: SecretBox, account_id: str, akid: str, secret: str) -> AccessKey:
    akid = akid or new_access_key_id()
    secret = secret or new_secret_access_key()
    conn.execute(
        insert(t.access_keys).values(
            access_key_id=akid,
            account_id=account_id,
            secret_enc=box.seal(secret, akid),
            principal_type="root",
            principal_name="root",
            status="Active",
            created_at=now(),
        )
    )
    return AccessKey(akid, secret, account_id)


def ensure_root_key(store: Store, box: SecretBox, account_id: str, akid: str, secret: str) -> None:
    """Make the configured root key valid for ``account_id`` (insert, or update its secret)."""
    with store.tx() as conn:
        row = conn.execute(select(t.access_keys.c.account_id).where(t.access_keys.c.access_key_id == akid)).first()
        if row is None:
            _add_root_key(conn, box, account_id, akid, secret)
        else:
            conn.execute(
                update(t.access_keys)
                .where(t.access_keys.c.access_key_id == akid)
                .values(secret_enc=box.seal(secret, akid), account_id=account_id, status="Active")
            )


def ensure_account(store: Store, account_id: str, name: str) -> None:
    """Create the account (no access key) unless it exists; concurrent creations are harmless."""
    with store.read() as conn:
        if conn.execute(select(t.accounts.c.id).where(t.accounts.c.id == account_id)).first() is not None:
            return
    try:
        with store.tx() as conn:
            if conn.execute(select(t.accounts.c.id).where(t.accounts.c.id == account_id)).first() is None:
                conn.execute(insert(t.accounts).values(id=account_id, name=name, created_at=now()))
    except IntegrityError:  # another process created it between the check and the insert
        pass


def key_id_known(store: Store, akid: str) -> bool:
    """Whether ``akid`` names an access key or stored temporary credentials Ostiary has, whatever its
    state. Self-contained role sessions have no row: a request carrying a self-contained token is
    never taken over by development mode's any-key resolver (``AnyKeyResolver.resolve``)."""
    with store.read() as conn:
        if conn.execute(select(t.access_keys.c.access_key_id).where(t.access_keys.c.access_key_id == akid)).first():
            return True
        found = conn.execute(select(t.sts_sessions.c.access_key_id).where(t.sts_sessions.c.access_key_id == akid))
        return found.first() is not None


def reset_iam(conn: Connection, box: SecretBox, root_akid: str = "", root_secret: str = "") -> str | None:
    """Development reset of IAM and STS, within the caller's transaction: every account but the first
    goes (with all it holds), and in the first every IAM and STS row (users, groups, roles, policies,
    providers, MFA devices, certificates, service credentials, the alias and password policy, sessions…)
    and every access key but the root key it started with: the configured ``root_access_key_id``
    (re-installed with its configured secret if it was deleted), else its oldest root key. AWS managed
    policies (account ``aws``) stay. Returns the first account's id (None without accounts)."""
    first = conn.execute(select(t.accounts.c.id).order_by(t.accounts.c.created_at).limit(1)).scalar()
    if first is None:
        return None
    first = str(first)
    for table in reversed(t.metadata.sorted_tables):  # children before parents
        if not table.name.startswith(("iam_", "sts_")):
            continue
        if "account_id" in table.c:  # per-account state (AWS's own rows, account "aws", stay)
            conn.execute(table.delete().where(table.c.account_id != "aws"))
        elif table.name == "iam_policy_versions":
            conn.execute(table.delete().where(~table.c.arn.startswith("arn:aws:iam::aws:")))
    conn.execute(t.single_use_markers.delete())  # spent SAML assertions of AssumeRoleWithSAML
    keys = t.access_keys
    if root_akid and root_secret:
        keep = root_akid
    else:
        oldest = conn.execute(
            select(keys.c.access_key_id)
            .where(keys.c.account_id == first, keys.c.principal_type == "root")
            .order_by(keys.c.created_at)
            .limit(1)
        ).scalar()
        keep = str(oldest) if oldest is not None else ""
    conn.execute(keys.delete().where(keys.c.access_key_id != keep))
    if root_akid and root_secret:
        if conn.execute(select(keys.c.access_key_id).where(keys.c.access_key_id == keep)).first() is None:
            _add_root_key(conn, box, first, root_akid, root_secret)
        else:
            conn.execute(
                update(keys)
                .where(keys.c.access_key_id == keep)
                .values(
                    account_id=first,
                    secret_enc=box.seal(root_secret, root_akid),
                    principal_type="root",
                    principal_name="root",
                    status="Active",
                )
            )
    elif keep:
        conn.execute(update(keys).where(keys.c.access_key_id == keep).values(status="Active"))
    conn.execute(t.accounts.delete().where(t.accounts.c.id != first))
    return first


def first_account_id(store: Store) -> str | None:
    with store.read() as conn:
        row = conn.execute(select(t.accounts.c.id).order_by(t.accounts.c.created_at).limit(1)).first()
    return None if row is None else str(row[0])


def list_accounts(store: Store) -> list[Account]:
    with store.read() as conn:
        keys = (
            select(t.access_keys.c.account_id, func.count().label("n")).group_by(t.access_keys.c.account_id).subquery()
        )
        rows = conn.execute(
            select(t.accounts.c.id, t.accounts.c.name, t.accounts.c.created_at, keys.c.n)
            .select_from(t.accounts.outerjoin(keys, keys.c.account_id == t.accounts.c.id))
            .order_by(t.accounts.c.created_at)
        ).all()
    return [Account(r[0], r[1], r[2].isoformat(), int(r[3] or 0)) for r in rows]


@dataclass(frozen=True)
class KeyRecord:
    """What a SigV4 signature is checked against; temporary credentials also need their token (its
    SHA-256: the token presented must be the one the record was made from)."""

    secret: str
    principal: Principal
    token_hash: str | None = None
    expires_at: dt.datetime | None = None


def lookup_access_key(store: Store, box: SecretBox, akid: str, token: str | None = None) -> KeyRecord | None:
    """The record of an active access key (long-term AKIA… or temporary ASIA…), or None. ``token``: the
    session token presented with an ASIA key (a self-contained one is the session itself)."""
    if akid.startswith("ASIA"):
        return _lookup_session(store, box, akid, token)
    with store.read() as conn:
        row = conn.execute(
            select(
                t.access_keys.c.secret_enc,
                t.access_keys.c.account_id,
                t.access_keys.c.principal_type,
                t.access_keys.c.principal_name,
                t.access_keys.c.status,
            ).where(t.access_keys.c.access_key_id == akid)
        ).first()
    if row is None or row.status != "Active":
        return None
    secret = box.open(row.secret_enc, akid)
    if row.principal_type == "root":
        return KeyRecord(secret, root_principal(row.account_id, akid))
    if row.principal_type == "user":
        with store.read() as conn:
            user = conn.execute(
                select(t.iam_users.c.name, t.iam_users.c.path, t.iam_users.c.user_id).where(
                    t.iam_users.c.account_id == row.account_id, t.iam_users.c.name == row.principal_name
                )
            ).first()
        if user is None:
            return None
        principal = Principal(
            account_id=row.account_id,
            kind=PrincipalKind.USER,
            arn=f"arn:aws:iam::{row.account_id}:user{user.path}{user.name}",
            user_id=user.user_id,
            access_key_id=akid,
        )
        return KeyRecord(secret, principal)
    return None


def _user_exists(store: Store, account_id: str, name: str, user_id: str) -> bool:
    """The IAM user a session was made by still exists (the same one: not deleted and re-created)."""
    with store.read() as conn:
        found = conn.execute(
            select(t.iam_users.c.user_id).where(
                t.iam_users.c.account_id == account_id, t.iam_users.c.name_key == name.lower()
            )
        ).first()
    return found is not None and found.user_id == user_id


# the role a session answers to, by name (one indexed read, on the driver's cursor: store.raw)
_ROLE_ID = RawSelect(
    select(t.iam_roles.c.role_id).where(
        t.iam_roles.c.account_id == bindparam("account"), t.iam_roles.c.name_key == bindparam("name_key")
    )
)
_SESSION_ROW = RawSelect(select(t.sts_sessions).where(t.sts_sessions.c.access_key_id == bindparam("key")))


def session_of(store: Store, principal: Principal) -> Session | None:
    """The facts of the temporary credentials ``principal`` signed with: those SigV4 resolution put on
    it (opened from a self-contained token or read from the row), else (a principal made elsewhere)
    the row's; None for long-term keys and unknown sessions."""
    if principal.session is not None:
        return principal.session
    if not principal.access_key_id.startswith("ASIA"):
        return None
    with store.read() as conn:
        row = _SESSION_ROW.first(conn, {"key": principal.access_key_id})
    return Session.from_row(row) if row is not None else None


def _role_exists(store: Store, session: Session) -> bool:
    """The role a session was made for still exists (the same one: not deleted, nor deleted and
    re-created under its name, nor gone with its account by the development reset)."""
    with store.read() as conn:
        found = _ROLE_ID.first(conn, {"account": session.account_id, "name_key": session.role_name.lower()})
    return found is not None and found.role_id == session.role_id


def _role_session_record(store: Store, secret: str, session: Session, token_hash: str) -> KeyRecord | None:
    if not _role_exists(store, session):
        return None
    akid = session.access_key_id
    principal = Principal(
        account_id=session.account_id,
        kind=PrincipalKind.ASSUMED_ROLE,
        arn=f"arn:aws:sts::{session.account_id}:assumed-role/{session.role_name}/{session.session_name}",
        user_id=f"{session.role_id}:{session.session_name}",
        access_key_id=akid,
        session=session,
    )
    return KeyRecord(secret, principal, token_hash, session.expires_at)


def _lookup_session(store: Store, box: SecretBox, akid: str, token: str | None) -> KeyRecord | None:
    """Temporary credentials: a self-contained role session opened from ``token``, else the session's
    row (GetSessionToken, GetFederationToken, role sessions issued before self-contained tokens)."""
    if token is not None and session_tokens.is_self_contained(token):
        opened = session_tokens.open_token(box, akid, token)
        if opened is not None:
            secret, session = opened
            return _role_session_record(store, secret, session, hashlib.sha256(token.encode()).hexdigest())
        # not one of ours: an older random token that happens to share the prefix has a row
    with store.read() as conn:
        row = _SESSION_ROW.first(conn, {"key": akid})
    if row is None:
        return None
    secret = box.open(row.secret_enc, akid)
    session = Session.from_row(row)
    expires = session.expires_at
    if row.kind == "root":  # GetSessionToken of the account root
        principal = root_principal(row.account_id, akid)
        return KeyRecord(secret, dataclasses.replace(principal, session=session), row.token_hash, expires)
    if row.kind == "user":  # GetSessionToken of an IAM user: the user itself, while it exists
        if not _user_exists(store, row.account_id, row.role_name, row.role_id):
            return None
        principal = Principal(
            account_id=row.account_id,
            kind=PrincipalKind.USER,
            arn=f"arn:aws:iam::{row.account_id}:user{row.role_path}{row.role_name}",
            user_id=row.role_id,
            access_key_id=akid,
            session=session,
        )
        return KeyRecord(secret, principal, row.token_hash, expires)
    if row.kind == "federated-user":  # GetFederationToken: while the calling user exists
        by_root = row.role_name == "root" and row.role_id == row.account_id
        if not by_root and not _user_exists(store, row.account_id, row.role_name, row.role_id):
            return None
        principal = Principal(
            account_id=row.account_id,
            kind=PrincipalKind.FEDERATED_USER,
            arn=f"arn:aws:sts::{row.account_id}:federated-user/{row.session_name}",
            user_id=f"{row.account_id}:{row.session_name}",
            access_key_id=akid,
            session=session,
        )
        return KeyRecord(secret, principal, row.token_hash, expires)
    # a role session stored as a row: while its role exists, as a self-contained one
    return _role_session_record(store, secret, session, row.token_hash)


def bootstrap(
    store: Store, box: SecretBox, data_dir: Path, akid: str, secret: str, account_id: str
) -> AccessKey | None:
    """Make sure the first account exists with a usable root key.

    With ``akid``/``secret`` configured, that key is (re)installed for the first account.
    Otherwise, on first start, a root key is generated, written to ``<data dir>/root-credentials``
    (mode 0600) and returned so that the caller prints it once.
    """
    first = first_account_id(store)
    if akid and secret:
        if first is None:
            create_account(store, box, "default", account_id, akid, secret)
        else:
            ensure_root_key(store, box, first, akid, secret)
        return None
    if first is not None:
        return None
    key = create_account(store, box, "default", account_id)
    path = data_dir / "root-credentials"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(
            "[default]\n"
            f"aws_access_key_id = {key.access_key_id}\n"
            f"aws_secret_access_key = {key.secret_access_key}\n"
            f"# account {key.account_id}\n"
        )
    return key
