"""The seed's scenario end to end (issue 15): a user signs up and signs in with pycognito, gets identity
pool credentials, and with boto3's S3 client pointed at the S3 front uploads to
``users/<identityId>/photo.jpg``, downloads it, lists only its own prefix, is refused another user's
prefix and the bucket's root; presigned GETs work and expire; a large multipart upload streams
through with flat memory; bucket policies give cross-account and anonymous access. All real
processes: moto's S3 server upstream, the Ostiary test server, the front."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from typing import Any
from unittest import mock

import httpx
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from pycognito import Cognito

from tests.conftest import ACCOUNT_ID, REGION, Server
from tests.identitypools.conftest import anon_client, make_role, provider_name, trust
from tests.processes import stop
from tests.s3front.conftest import Front, Moto, rss_kib
from tests.userpools.conftest import PASSWORD

SUB = "${cognito-identity.amazonaws.com:sub}"
ROLE_STATEMENTS = [
    {
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": f"arn:aws:s3:::photos/users/{SUB}/*",
    },
    {
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::photos",
        "Condition": {"StringLike": {"s3:prefix": f"users/{SUB}/*"}},
    },
]


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any, principal: Any = "*", effect: str = "Allow") -> dict[str, Any]:
    return {"Effect": effect, "Principal": principal, "Action": action, "Resource": resource}


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


class App:
    """A user pool, its app client, an identity pool trusting it and its authenticated role."""

    def __init__(self, server: Server) -> None:
        self.server = server
        idp = server.client("cognito-idp")
        iam = server.client("iam")
        ci = server.client("cognito-identity")
        pool = idp.create_user_pool(PoolName="photos-" + secrets.token_hex(3), AutoVerifiedAttributes=["email"])
        self.pool_id = pool["UserPool"]["Id"]
        self.client_id = idp.create_user_pool_client(
            UserPoolId=self.pool_id,
            ClientName="app",
            ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        self.identity_pool = ci.create_identity_pool(
            IdentityPoolName="photos_" + secrets.token_hex(3),
            AllowUnauthenticatedIdentities=False,
            CognitoIdentityProviders=[{"ProviderName": provider_name(self.pool_id), "ClientId": self.client_id}],
        )["IdentityPoolId"]
        self.role = make_role(iam, trust(self.identity_pool), ROLE_STATEMENTS)
        ci.set_identity_pool_roles(IdentityPoolId=self.identity_pool, Roles={"authenticated": self.role})
        self.idp = idp
        self.anon = anon_client(server)
        for c in (iam, ci):
            c.close()

    def sign_up_and_in(self) -> tuple[str, dict[str, Any]]:
        """pycognito: sign up, (the admin confirms), sign in with SRP; then GetId and
        GetCredentialsForIdentity. The identity id and its credentials."""
        name = "user" + secrets.token_hex(4)
        user = Cognito(self.pool_id, self.client_id, user_pool_region=REGION, botocore_config=None)
        user.client = self.server.client("cognito-idp")  # pycognito's calls go to the test server
        # and it verifies the tokens with the test server's issuer and keys (OIDC discovery)
        discovery = httpx.get(f"{self.server.url}/{self.pool_id}/.well-known/openid-configuration", timeout=10).json()
        assert discovery["issuer"].endswith("/" + self.pool_id)
        user.pool_domain_url = discovery["issuer"].rsplit("/", 1)[0]
        user.pool_jwk = httpx.get(discovery["jwks_uri"], timeout=10).json()
        user.set_base_attributes(email=f"{name}@example.com")
        user.register(name, PASSWORD)
        self.idp.admin_confirm_sign_up(UserPoolId=self.pool_id, Username=name)
        user.username = name
        user.authenticate(password=PASSWORD)
        logins = {provider_name(self.pool_id): user.id_token}
        identity = self.anon.get_id(IdentityPoolId=self.identity_pool, Logins=logins)["IdentityId"]
        creds = self.anon.get_credentials_for_identity(IdentityId=identity, Logins=logins)["Credentials"]
        user.client.close()
        return identity, creds


@pytest.fixture(scope="module")
def app(server: Server) -> Iterator[App]:
    made = App(server)
    yield made
    made.idp.close()
    made.anon.close()


@pytest.fixture(scope="module")
def alice(app: App) -> tuple[str, dict[str, Any]]:
    return app.sign_up_and_in()


@pytest.fixture(scope="module")
def bob(app: App) -> tuple[str, dict[str, Any]]:
    return app.sign_up_and_in()


def s3_for(front: Front, creds: dict[str, Any]) -> Any:
    return front.client(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretKey"],
        aws_session_token=creds["SessionToken"],
    )


@pytest.fixture
def alice_s3(front: Front, alice: tuple[str, dict[str, Any]]) -> Iterator[Any]:
    client = s3_for(front, alice[1])
    yield client
    client.close()


def test_own_prefix_upload_download_list(front: Front, alice: tuple[str, dict[str, Any]], alice_s3: Any) -> None:
    identity, _ = alice
    key = f"users/{identity}/photo.jpg"
    photo = os.urandom(300_000)
    alice_s3.put_object(Bucket="photos", Key=key, Body=photo, ContentType="image/jpeg", Metadata={"taken": "today"})
    got = alice_s3.get_object(Bucket="photos", Key=key)
    assert got["Body"].read() == photo
    assert got["ContentType"] == "image/jpeg"
    assert got["Metadata"] == {"taken": "today"}
    head = alice_s3.head_object(Bucket="photos", Key=key)
    assert head["ContentLength"] == len(photo)
    listed = alice_s3.list_objects_v2(Bucket="photos", Prefix=f"users/{identity}/")
    assert [o["Key"] for o in listed["Contents"]] == [key]
    # the bucket's root and someone else's prefix are not listable
    with pytest.raises(ClientError) as denied:
        alice_s3.list_objects_v2(Bucket="photos")
    assert code(denied) == "AccessDenied"
    with pytest.raises(ClientError) as denied:
        alice_s3.list_objects_v2(Bucket="photos", Prefix="users/")
    assert code(denied) == "AccessDenied"


def test_other_users_prefix_denied(
    front: Front, moto_s3: Moto, alice: tuple[str, dict[str, Any]], bob: tuple[str, dict[str, Any]], alice_s3: Any
) -> None:
    bob_id, bob_creds = bob
    bob_s3 = s3_for(front, bob_creds)
    bob_s3.put_object(Bucket="photos", Key=f"users/{bob_id}/secret.txt", Body=b"bob's")
    for call in (
        lambda: alice_s3.get_object(Bucket="photos", Key=f"users/{bob_id}/secret.txt"),
        lambda: alice_s3.put_object(Bucket="photos", Key=f"users/{bob_id}/planted.txt", Body=b"x"),
        lambda: alice_s3.list_objects_v2(Bucket="photos", Prefix=f"users/{bob_id}/"),
        lambda: alice_s3.delete_object(Bucket="photos", Key=f"users/{alice[0]}/photo.jpg"),  # no s3:DeleteObject
    ):
        with pytest.raises(ClientError) as denied:
            call()
        assert code(denied) == "AccessDenied"
    # nothing was planted upstream
    upstream = moto_s3.client()
    with pytest.raises(ClientError) as missing:
        upstream.head_object(Bucket="photos", Key=f"users/{bob_id}/planted.txt")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    # a missing key of bob's own prefix: without s3:ListBucket on the bucket S3 answers 403, not 404
    with pytest.raises(ClientError) as hidden:
        bob_s3.get_object(Bucket="photos", Key=f"users/{bob_id}/never-written.txt")
    assert code(hidden) == "AccessDenied"
    upstream.close()
    bob_s3.close()


def test_presigned_get_works_and_expires(front: Front, alice: tuple[str, dict[str, Any]], alice_s3: Any) -> None:
    identity, _ = alice
    key = f"users/{identity}/shared.txt"
    alice_s3.put_object(Bucket="photos", Key=key, Body=b"presigned content")
    url = alice_s3.generate_presigned_url("get_object", Params={"Bucket": "photos", "Key": key}, ExpiresIn=300)
    answer = httpx.get(url, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.content == b"presigned content"
    # signed ten minutes ago for five minutes: expired (botocore's clock set back, the server's untouched)
    past = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=10)
    with mock.patch("botocore.auth.get_current_datetime", return_value=past):
        old = alice_s3.generate_presigned_url("get_object", Params={"Bucket": "photos", "Key": key}, ExpiresIn=300)
    expired = httpx.get(old, timeout=30)
    assert expired.status_code == 403
    assert "<Code>AccessDenied</Code>" in expired.text and "Request has expired" in expired.text
    # a presigned URL for another user's object is refused by policy, not by signature
    other = alice_s3.generate_presigned_url(
        "get_object", Params={"Bucket": "photos", "Key": "users/someone-else/x"}, ExpiresIn=300
    )
    assert "<Code>AccessDenied</Code>" in httpx.get(other, timeout=30).text


def test_tampered_and_forged_requests(front: Front, alice: tuple[str, dict[str, Any]]) -> None:
    identity, creds = alice
    key = f"users/{identity}/photo.jpg"
    # a forged session token with the right key id
    forged = s3_for(front, {**creds, "SessionToken": creds["SessionToken"][:-4] + "AAAA"})
    with pytest.raises(ClientError) as bad:
        forged.get_object(Bucket="photos", Key=key)
    assert code(bad) == "InvalidToken"
    forged.close()
    # the wrong secret
    wrong = s3_for(front, {**creds, "SecretKey": "x" * 40})
    with pytest.raises(ClientError) as bad:
        wrong.get_object(Bucket="photos", Key=key)
    assert code(bad) == "SignatureDoesNotMatch"
    wrong.close()
    # a presigned URL whose key was changed after signing
    s3 = s3_for(front, creds)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "photos", "Key": key}, ExpiresIn=60)
    answer = httpx.get(url.replace("photo.jpg", "other.jpg"), timeout=30)
    assert answer.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in answer.text
    s3.close()


def test_multipart_upload_streams_with_flat_memory(
    front: Front, alice: tuple[str, dict[str, Any]], alice_s3: Any, tmp_path: Any
) -> None:
    identity, _ = alice
    size = 96 * 1024 * 1024
    path = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with open(path, "wb") as fh:
        block = os.urandom(1024 * 1024)
        for i in range(size // len(block)):
            piece = block[:-8] + i.to_bytes(8, "big")
            fh.write(piece)
            digest.update(piece)
    key = f"users/{identity}/video.bin"
    before = rss_kib(front.pid())
    config = TransferConfig(
        multipart_threshold=8 * 1024 * 1024, multipart_chunksize=16 * 1024 * 1024, max_concurrency=2
    )
    alice_s3.upload_file(str(path), "photos", key, Config=config)
    after_upload = rss_kib(front.pid())
    head = alice_s3.head_object(Bucket="photos", Key=key)
    assert head["ContentLength"] == size
    assert "-" in head["ETag"]  # a multipart object
    got = hashlib.sha256()
    body = alice_s3.get_object(Bucket="photos", Key=key)["Body"]
    for chunk in iter(lambda: body.read(1024 * 1024), b""):
        got.update(chunk)
    assert got.hexdigest() == digest.hexdigest()
    after_download = rss_kib(front.pid())
    # 96 MB went through both ways; the front holds pieces, not the body (loosely bounded)
    assert after_upload - before < 48 * 1024, (before, after_upload)
    assert after_download - before < 48 * 1024, (before, after_download)


def _root_s3(front: Front, **keys: str) -> Any:
    from tests.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY

    return front.client(
        aws_access_key_id=keys.get("aws_access_key_id", ACCESS_KEY_ID),
        aws_secret_access_key=keys.get("aws_secret_access_key", SECRET_ACCESS_KEY),
    )


def _user_keys(server: Server, statements: list[dict[str, Any]] | None) -> dict[str, str]:
    iam = server.client("iam")
    name = "s3u-" + secrets.token_hex(4)
    iam.create_user(UserName=name)
    if statements:
        doc = json.dumps({"Version": "2012-10-17", "Statement": statements})
        iam.put_user_policy(UserName=name, PolicyName="s3", PolicyDocument=doc)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.close()
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def test_cross_account_through_the_bucket_policy(server: Server, front: Front) -> None:
    partner = _root_s3(front, **front.partner)
    partner.put_object(Bucket="partner-data", Key="shared/report.csv", Body=b"a,b\n1,2\n")
    partner.put_object(Bucket="partner-data", Key="private/keys.txt", Body=b"nope")
    reader = _user_keys(
        server, [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::partner-data/*"}]
    )
    idle = _user_keys(server, None)
    reader_s3, idle_s3 = front.client(**reader), front.client(**idle)
    # no bucket policy yet: the caller's own allow is not enough across accounts
    with pytest.raises(ClientError) as denied:
        reader_s3.get_object(Bucket="partner-data", Key="shared/report.csv")
    assert code(denied) == "AccessDenied"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadShared",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::partner-data/shared/*",
            }
        ],
    }
    partner.put_bucket_policy(Bucket="partner-data", Policy=json.dumps(policy))
    assert json.loads(partner.get_bucket_policy(Bucket="partner-data")["Policy"]) == policy
    # both sides allow: read; the bucket policy alone (no identity allow): refused
    assert reader_s3.get_object(Bucket="partner-data", Key="shared/report.csv")["Body"].read() == b"a,b\n1,2\n"
    with pytest.raises(ClientError) as denied:
        idle_s3.get_object(Bucket="partner-data", Key="shared/report.csv")
    assert code(denied) == "AccessDenied"
    # outside what the bucket policy grants: refused
    with pytest.raises(ClientError) as denied:
        reader_s3.get_object(Bucket="partner-data", Key="private/keys.txt")
    assert code(denied) == "AccessDenied"
    # another account may never manage the bucket's policy, even allowed (405), nor read it
    home_root = _root_s3(front)
    with pytest.raises(ClientError) as refused:
        home_root.put_bucket_policy(Bucket="partner-data", Policy=json.dumps(policy))
    assert code(refused) in ("MethodNotAllowed", "AccessDenied")
    with pytest.raises(ClientError) as refused:
        reader_s3.delete_bucket_policy(Bucket="partner-data")
    assert code(refused) == "AccessDenied"
    partner.delete_bucket_policy(Bucket="partner-data")
    with pytest.raises(ClientError) as gone:
        partner.get_bucket_policy(Bucket="partner-data")
    assert code(gone) == "NoSuchBucketPolicy"
    for c in (partner, reader_s3, idle_s3, home_root):
        c.close()


def test_bucket_policy_is_checked_as_s3_checks_it(front: Front, server: Server) -> None:
    root = _root_s3(front)
    no_principal = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*"}
    bad = {
        "not json": "Policies must be valid JSON and the first byte must be '{'",
        doc(no_principal): "Missing required field Principal",
        doc(allow("s3:GetObject", "arn:aws:s3:::other/*")): "Policy has invalid resource",
        doc(allow("s3:GetObject", "arn:aws:s3:::photos")): "Action does not apply to any resource(s) in statement",
        doc(allow("iam:GetUser", "arn:aws:s3:::photos/*")): "Policy has invalid action",
    }
    for document, message in bad.items():
        with pytest.raises(ClientError) as refused:
            root.put_bucket_policy(Bucket="photos", Policy=document)
        assert code(refused) == "MalformedPolicy"
        assert refused.value.response["Error"]["Message"] == message
    with pytest.raises(ClientError) as missing:
        root.get_bucket_policy(Bucket="photos")
    assert code(missing) == "NoSuchBucketPolicy"
    # an IAM user of the owner's account without s3:PutBucketPolicy: refused
    user = front.client(**_user_keys(server, None))
    with pytest.raises(ClientError) as denied:
        user.put_bucket_policy(Bucket="photos", Policy="{}")
    assert code(denied) == "AccessDenied"
    user.close()
    # the audit trail has the owner's change (CloudTrail's LookupEvents)
    policy = {
        "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::photos/*"}
        ]
    }
    root.put_bucket_policy(Bucket="photos", Policy=json.dumps(policy))
    trail = server.client("cloudtrail")
    events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "PutBucketPolicy"}])
    assert any(e["Resources"] and e["Resources"][0]["ResourceName"] == "photos" for e in events["Events"])
    # the refused attempts are recorded too, with S3's error code
    codes = {json.loads(e["CloudTrailEvent"]).get("errorCode") for e in events["Events"]}
    assert {"AccessDenied", "MalformedPolicy", None} <= codes
    # the owner's root can always remove a policy, even one that denies it everything
    root.put_bucket_policy(
        Bucket="photos",
        Policy=json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": ["arn:aws:s3:::photos", "arn:aws:s3:::photos/*"],
                    }
                ]
            }
        ),
    )
    with pytest.raises(ClientError) as denied:
        root.list_objects_v2(Bucket="photos")
    assert code(denied) == "AccessDenied"
    root.delete_bucket_policy(Bucket="photos")
    root.list_objects_v2(Bucket="photos")
    trail.close()
    root.close()


def test_anonymous_access_through_a_public_policy(front: Front) -> None:
    root = _root_s3(front)
    root.put_object(Bucket="public-assets", Key="logo.svg", Body=b"<svg/>", ContentType="image/svg+xml")
    assert httpx.get(front.url + "/public-assets/logo.svg", timeout=30).status_code == 403
    root.put_bucket_policy(
        Bucket="public-assets",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::public-assets/*",
                    }
                ],
            }
        ),
    )
    got = httpx.get(front.url + "/public-assets/logo.svg", timeout=30)
    assert got.status_code == 200 and got.content == b"<svg/>"
    # virtual-host style: the bucket in the Host under the base domain
    hosted = httpx.get(front.url + "/logo.svg", headers={"Host": "public-assets.s3.front.test"}, timeout=30)
    assert hosted.status_code == 200 and hosted.content == b"<svg/>"
    # anonymous writes and listings stay refused
    put = httpx.put(front.url + "/public-assets/evil.js", content=b"alert(1)", timeout=30)
    assert put.status_code == 403 and "<Code>AccessDenied</Code>" in put.text
    assert httpx.get(front.url + "/public-assets", timeout=30).status_code == 403
    root.close()


def test_virtual_host_signed_request(front: Front, alice: tuple[str, dict[str, Any]]) -> None:
    identity, creds = alice
    url = f"http://photos.s3.front.test:{front.port}/users/{identity}/vhost.txt"
    request = AWSRequest(
        method="PUT", url=url, data=b"by host", headers={"x-amz-content-sha256": hashlib.sha256(b"by host").hexdigest()}
    )
    S3SigV4Auth(Credentials(creds["AccessKeyId"], creds["SecretKey"], creds["SessionToken"]), "s3", REGION).add_auth(
        request
    )
    headers = dict(request.headers.items())
    answer = httpx.put(
        front.url + f"/users/{identity}/vhost.txt",
        content=b"by host",
        headers={**headers, "Host": f"photos.s3.front.test:{front.port}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    s3 = s3_for(front, creds)
    assert s3.get_object(Bucket="photos", Key=f"users/{identity}/vhost.txt")["Body"].read() == b"by host"
    s3.close()


def test_health_does_not_shadow_a_bucket(front: Front) -> None:
    assert httpx.get(front.url + "/_ostiary/health", timeout=10).json() == {"status": "ok"}
    root = _root_s3(front)
    root.put_object(Bucket="health", Key="check", Body=b"1")
    listed = root.list_objects_v2(Bucket="health")
    assert [o["Key"] for o in listed["Contents"]] == ["check"]
    # unsigned GET /health is the bucket "health" (anonymous: refused), not the front's health
    assert httpx.get(front.url + "/health", timeout=10).status_code == 403
    # an unknown bucket does not exist for the front's clients
    with pytest.raises(ClientError) as missing:
        root.get_object(Bucket="not-served", Key="x")
    assert code(missing) == "NoSuchBucket"
    root.close()


def test_list_buckets_shows_the_callers_buckets(front: Front, moto_s3: Moto) -> None:
    root = _root_s3(front)
    names = {b["Name"] for b in root.list_buckets()["Buckets"]}
    assert names == {"photos", "public-assets", "health"}
    partner = _root_s3(front, **front.partner)
    assert {b["Name"] for b in partner.list_buckets()["Buckets"]} == {"partner-data"}
    root.close()
    partner.close()


def test_operator_credentials_never_reach_the_client(front: Front) -> None:
    root = _root_s3(front)
    root.put_object(Bucket="photos", Key="ops/readme", Body=b"x")
    head = root.head_object(Bucket="photos", Key="ops/readme")
    flat = json.dumps(head["ResponseMetadata"]["HTTPHeaders"])
    from tests.s3front.conftest import UPSTREAM_KEY, UPSTREAM_SECRET

    assert UPSTREAM_KEY not in flat and UPSTREAM_SECRET not in flat
    assert UPSTREAM_SECRET not in front.log.read_text()
    root.close()


def test_a_service_control_policy_binds_s3_access(server: Server, front: Front) -> None:
    """A member account's user allowed by its own policy and by the bucket's (cross-account) is
    still refused what its organization's SCP denies."""
    from tests.organizations.conftest import new_org

    root = _root_s3(front)
    root.put_object(Bucket="public-assets", Key="scp/doc.txt", Body=b"scp")
    root.put_bucket_policy(Bucket="public-assets", Policy=doc(allow("s3:GetObject", "arn:aws:s3:::public-assets/*")))
    org = new_org(server)
    orgs = org.client("organizations")

    def member_user() -> Any:
        member = org.member()
        iam = org.server.client("iam", **org.admin_of(member))
        iam.create_user(UserName="reader")
        iam.attach_user_policy(UserName="reader", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        iam.close()
        return member, front.client(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])

    free_member, free = member_user()
    bound_member, bound = member_user()
    scp = orgs.create_policy(
        Content=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}]}
        ),
        Description="",
        Name="NoS3Reads",
        Type="SERVICE_CONTROL_POLICY",
    )["Policy"]["PolicySummary"]["Id"]
    orgs.attach_policy(PolicyId=scp, TargetId=bound_member)
    assert free.get_object(Bucket="public-assets", Key="scp/doc.txt")["Body"].read() == b"scp"
    with pytest.raises(ClientError) as denied:
        bound.get_object(Bucket="public-assets", Key="scp/doc.txt")
    assert code(denied) == "AccessDenied"
    for c in (root, orgs, free, bound):
        c.close()
    assert free_member != bound_member


def test_cors_of_the_upstream_bucket_answers_browsers(front: Front, moto_s3: Moto, alice: tuple[str, Any]) -> None:
    """A browser app (Amplify Storage) preflights its uploads: the front passes the preflight to the
    upstream, whose bucket CORS configuration (the operator's) answers it, and the Origin of the
    actual request too."""
    upstream = moto_s3.client()
    upstream.put_bucket_cors(
        Bucket="photos",
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": ["https://app.example.test"],
                    "AllowedMethods": ["GET", "PUT"],
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": ["ETag"],
                }
            ]
        },
    )
    upstream.close()
    identity, creds = alice
    preflight = httpx.options(
        front.url + f"/photos/users/{identity}/photo.jpg",
        headers={
            "Origin": "https://app.example.test",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,x-amz-date,x-amz-security-token",
        },
        timeout=10,
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == "https://app.example.test"
    s3 = s3_for(front, creds)
    s3.put_object(Bucket="photos", Key=f"users/{identity}/cors.txt", Body=b"c")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "photos", "Key": f"users/{identity}/cors.txt"}, ExpiresIn=60
    )
    got = httpx.get(url, headers={"Origin": "https://app.example.test"}, timeout=10)
    assert got.status_code == 200 and got.headers["access-control-allow-origin"] == "https://app.example.test"
    s3.close()


def test_delete_objects_is_decided_key_by_key(server: Server, front: Front, moto_s3: Moto) -> None:
    root = _root_s3(front)
    for key in ("mine/a", "mine/b", "theirs/c"):
        root.put_object(Bucket="photos", Key=key, Body=b"x")
    user = front.client(
        **_user_keys(
            server, [{"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::photos/mine/*"}]
        )
    )
    answer = user.delete_objects(
        Bucket="photos", Delete={"Objects": [{"Key": "mine/a"}, {"Key": "theirs/c"}, {"Key": "mine/b"}]}
    )
    assert sorted(d["Key"] for d in answer["Deleted"]) == ["mine/a", "mine/b"]
    assert [(e["Key"], e["Code"]) for e in answer["Errors"]] == [("theirs/c", "AccessDenied")]
    upstream = moto_s3.client()
    assert upstream.head_object(Bucket="photos", Key="theirs/c")["ContentLength"] == 1
    for key in ("mine/a", "mine/b"):
        with pytest.raises(ClientError):
            upstream.head_object(Bucket="photos", Key=key)
    # nothing allowed: nothing deleted, every key reported
    only = user.delete_objects(Bucket="photos", Delete={"Objects": [{"Key": "theirs/c"}], "Quiet": True})
    assert [(e["Key"], e["Code"]) for e in only["Errors"]] == [("theirs/c", "AccessDenied")]
    assert upstream.head_object(Bucket="photos", Key="theirs/c")["ContentLength"] == 1
    for c in (root, user, upstream):
        c.close()


def test_spoofed_headers_change_nothing(server: Server, front: Front) -> None:
    """aws:SourceIp is the connection's address (no X-Forwarded-For is believed), and an expected
    bucket owner that is not the bucket's is refused as S3 refuses it."""
    root = _root_s3(front)
    root.put_object(Bucket="health", Key="office-only.txt", Body=b"o")
    root.put_bucket_policy(
        Bucket="health",
        Policy=doc(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::health/office-only.txt",
                "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
            }
        ),
    )
    spoofed = httpx.get(
        front.url + "/health/office-only.txt",
        headers={"X-Forwarded-For": "203.0.113.7", "X-Real-IP": "203.0.113.7", "Forwarded": "for=203.0.113.7"},
        timeout=10,
    )
    assert spoofed.status_code == 403 and "<Code>AccessDenied</Code>" in spoofed.text
    with pytest.raises(ClientError) as denied:
        root.get_object(Bucket="health", Key="office-only.txt", ExpectedBucketOwner="210987654321")
    assert code(denied) == "AccessDenied"
    assert (
        root.get_object(Bucket="health", Key="office-only.txt", ExpectedBucketOwner=ACCOUNT_ID)["Body"].read() == b"o"
    )
    root.delete_bucket_policy(Bucket="health")
    # the access log names the anonymous caller's real address
    assert '"principal": "anonymous", "decision": "deny"' in front.log.read_text()
    root.close()


def test_a_bucket_shared_with_an_organization(server: Server, front: Front) -> None:
    """aws:PrincipalOrgID: the partner shares a prefix with every account of an organization."""
    from tests.organizations.conftest import new_org

    org = new_org(server)
    member = org.member()
    iam = org.server.client("iam", **org.admin_of(member))
    iam.create_user(UserName="org-reader")
    iam.attach_user_policy(UserName="org-reader", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    key = iam.create_access_key(UserName="org-reader")["AccessKey"]
    iam.close()
    inside = front.client(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    outside = front.client(
        **_user_keys(server, [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::partner-data/*"}])
    )
    partner = _root_s3(front, **front.partner)
    partner.put_object(Bucket="partner-data", Key="org/handbook.txt", Body=b"for the organization")
    statement = allow("s3:GetObject", "arn:aws:s3:::partner-data/org/*")
    statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": org.org_id}}
    partner.put_bucket_policy(Bucket="partner-data", Policy=doc(statement))
    try:
        got = inside.get_object(Bucket="partner-data", Key="org/handbook.txt")["Body"].read()
        assert got == b"for the organization"
        with pytest.raises(ClientError) as denied:
            outside.get_object(Bucket="partner-data", Key="org/handbook.txt")
        assert code(denied) == "AccessDenied"
    finally:
        partner.delete_bucket_policy(Bucket="partner-data")
    for c in (inside, outside, partner):
        c.close()


def test_same_account_bucket_policy_grants_and_denies(server: Server, front: Front) -> None:
    """Within the owner's account a bucket policy naming a user grants on its own (no identity policy
    needed), and its explicit deny beats an identity policy's allow."""
    iam = server.client("iam")
    name = "bp-" + secrets.token_hex(4)
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    admin = _user_keys(server, [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])
    iam.close()
    named = front.client(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    powerful = front.client(**admin)
    root = _root_s3(front)
    root.put_object(Bucket="health", Key="named/report.txt", Body=b"r")
    root.put_object(Bucket="health", Key="locked/secret.txt", Body=b"s")
    with pytest.raises(ClientError) as denied:
        named.get_object(Bucket="health", Key="named/report.txt")
    assert code(denied) == "AccessDenied"
    assert (
        "because no identity-based policy allows the s3:GetObject action" in denied.value.response["Error"]["Message"]
    )
    root.put_bucket_policy(
        Bucket="health",
        Policy=doc(
            allow("s3:GetObject", "arn:aws:s3:::health/named/*", principal={"AWS": arn}),
            allow("s3:*", "arn:aws:s3:::health/locked/*", effect="Deny"),
        ),
    )
    try:
        assert named.get_object(Bucket="health", Key="named/report.txt")["Body"].read() == b"r"
        assert powerful.get_object(Bucket="health", Key="named/report.txt")["Body"].read() == b"r"
        with pytest.raises(ClientError) as denied:
            powerful.get_object(Bucket="health", Key="locked/secret.txt")
        assert code(denied) == "AccessDenied"
        assert "with an explicit deny in a resource-based policy" in denied.value.response["Error"]["Message"]
    finally:
        root.delete_bucket_policy(Bucket="health")
    for c in (named, powerful, root):
        c.close()


def test_trusted_proxies_give_the_callers_address_and_tls(
    server: Server, moto_s3: Moto, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Behind a TLS-terminating load balancer (a trusted proxy), aws:SourceIp is the client's address
    from X-Forwarded-For and aws:SecureTransport comes from X-Forwarded-Proto; a common bucket policy
    ("deny insecure transport", "only from the office") then works."""
    from tests.s3front.conftest import start_front

    behind = start_front(
        server, tmp_path_factory.mktemp("front-lb"), moto_s3.url, extra='trusted_proxies = ["127.0.0.1/32"]'
    )
    try:
        root = _root_s3(behind)
        root.put_object(Bucket="health", Key="lb/doc.txt", Body=b"d")
        insecure = allow("s3:*", ["arn:aws:s3:::health", "arn:aws:s3:::health/*"], effect="Deny")
        insecure["Condition"] = {"Bool": {"aws:SecureTransport": "false"}}
        office = allow("s3:GetObject", "arn:aws:s3:::health/lb/*")
        office["Condition"] = {"IpAddress": {"aws:SourceIp": "198.51.100.0/24"}}
        root.put_bucket_policy(Bucket="health", Policy=doc(insecure, office))
        url = behind.url + "/health/lb/doc.txt"
        tls_office = {"X-Forwarded-For": "198.51.100.9", "X-Forwarded-Proto": "https"}
        assert httpx.get(url, headers=tls_office, timeout=10).status_code == 200
        plain = {"X-Forwarded-For": "198.51.100.9", "X-Forwarded-Proto": "http"}
        assert httpx.get(url, headers=plain, timeout=10).status_code == 403
        elsewhere = {"X-Forwarded-For": "198.51.100.9, 203.0.113.50", "X-Forwarded-Proto": "https"}
        assert httpx.get(url, headers=elsewhere, timeout=10).status_code == 403  # the proxy saw 203.0.113.50
        # the policy denies the owner's root too over plain HTTP, but never its right to remove it
        with pytest.raises(ClientError) as denied:
            root.get_object(Bucket="health", Key="lb/doc.txt")
        assert code(denied) == "AccessDenied"
        root.delete_bucket_policy(Bucket="health")
        root.close()
    finally:
        stop(behind.proc)
