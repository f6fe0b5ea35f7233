#!/usr/bin/env python3
"""Refresh the AWS catalogues Ostiary ships as data (src/ostiary/access/data/):

``aws_managed_policies.json.gz``
    Every AWS managed policy (``arn:aws:iam::aws:policy/…``): name, path, default version id,
    CreateDate, UpdateDate and the default version's document. Read from moto's
    ``moto/iam/aws_managed_policies.py`` (https://github.com/getmoto/moto, Apache-2.0), which moto
    regenerates from AWS's own ``ListPolicies`` / ``GetPolicyVersion`` answers.

``service_linked_roles.json``
    The service-linked roles AWS creates per service principal: role name, the AWS managed
    policies attached to it, and whether ``CustomSuffix`` is allowed. Read from LocalStack's
    ``localstack-core/localstack/services/iam/resources/service_linked_roles.py``
    (https://github.com/localstack/localstack, Apache-2.0), whose entries LocalStack's test suite
    validates against AWS.

Each source is given as a path — the file itself or a checkout of the repository — or as an
https URL of the raw file. The Python sources are read with ``ast`` (never imported or executed).
Nothing here runs at server start or in the tests' servers: the output files are committed.

    python tools/refresh_aws_catalogues.py --moto ../moto --localstack ../localstack
    python tools/refresh_aws_catalogues.py \\
        --moto https://raw.githubusercontent.com/getmoto/moto/master/moto/iam/aws_managed_policies.py \\
        --localstack https://raw.githubusercontent.com/localstack/localstack/main/localstack-core/localstack/services/iam/resources/service_linked_roles.py

The output is deterministic (sorted, gzip without a timestamp), so a refresh that changes nothing
leaves the files byte-identical.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "src" / "ostiary" / "access" / "data"
MOTO_FILE = "moto/iam/aws_managed_policies.py"
LOCALSTACK_FILE = "localstack-core/localstack/services/iam/resources/service_linked_roles.py"
POLICIES_OUT = "aws_managed_policies.json.gz"
ROLES_OUT = "service_linked_roles.json"
FORMAT = 1


def read_source(where: str, inside: str) -> str:
    """The text of ``where``: an https URL, a file, or a checkout holding ``inside``."""
    if where.startswith("https://"):
        with urllib.request.urlopen(where, timeout=60) as resp:  # noqa: S310 - https only, given by the operator
            return str(resp.read().decode("utf-8"))
    path = Path(where)
    if path.is_dir():
        path = path / inside
    return path.read_text(encoding="utf-8")


def _assigned(source: str, name: str) -> ast.expr:
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return node.value
    raise SystemExit(f"no assignment to {name} found")


def managed_policies(source: str) -> list[list[str]]:
    """[[name, path, default version, CreateDate, UpdateDate, document JSON], …] ordered as IAM's
    ListPolicies orders AWS managed policies (by creation, then name)."""
    data = json.loads(ast.literal_eval(_assigned(source, "aws_managed_policies_data")))
    rows = []
    for name, p in data.items():
        path = p.get("Path") or "/"
        if not (path.startswith("/") and path.endswith("/")):
            raise SystemExit(f"{name}: bad path {path!r}")
        version = str(p["DefaultVersionId"])
        if not (version.startswith("v") and version[1:].isdigit()):
            raise SystemExit(f"{name}: bad version {version!r}")
        document = json.dumps(p["Document"], separators=(",", ":"), ensure_ascii=False)
        rows.append([name, path, version, _iso(p["CreateDate"]), _iso(p["UpdateDate"]), document])
    rows.sort(key=lambda r: (r[3], r[0]))
    return rows


def _iso(value: str) -> str:
    """``2015-02-06T18:39:46+00:00`` as ``2015-02-06T18:39:46Z``."""
    text = str(value)
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def service_linked_roles(source: str) -> dict[str, dict[str, Any]]:
    data = ast.literal_eval(_assigned(source, "SERVICE_LINKED_ROLES"))
    out: dict[str, dict[str, Any]] = {}
    for service, entry in sorted(data.items()):
        out[service] = {
            "RoleName": entry["role_name"],
            "AttachedPolicies": list(entry["attached_policies"]),
            "CustomSuffixAllowed": bool(entry["suffix_allowed"]),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--moto", required=True, help=f"moto checkout, {MOTO_FILE} itself, or its https URL")
    ap.add_argument(
        "--localstack", required=True, help=f"LocalStack checkout, {LOCALSTACK_FILE} itself, or its https URL"
    )
    ap.add_argument("--moto-revision", default="", help="the moto commit or release read (recorded in the output)")
    ap.add_argument("--localstack-revision", default="", help="the LocalStack commit read (recorded in the output)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    args = ap.parse_args(argv)

    policies = managed_policies(read_source(args.moto, MOTO_FILE))
    roles = service_linked_roles(read_source(args.localstack, LOCALSTACK_FILE))
    known = {f"arn:aws:iam::aws:policy{p[1]}{p[0]}" for p in policies}
    for service, entry in roles.items():
        missing = [arn for arn in entry["AttachedPolicies"] if arn not in known]
        if missing:
            print(f"warning: {service}: {', '.join(missing)} not in the managed policy catalogue", file=sys.stderr)

    args.out.mkdir(parents=True, exist_ok=True)
    body = {
        "format": FORMAT,
        "source": f"moto {MOTO_FILE} (https://github.com/getmoto/moto, Apache-2.0)",
        "revision": args.moto_revision,
        "columns": ["PolicyName", "Path", "DefaultVersionId", "CreateDate", "UpdateDate", "Document"],
        "policies": policies,
    }
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    (args.out / POLICIES_OUT).write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    slr = {
        "format": FORMAT,
        "source": f"LocalStack {LOCALSTACK_FILE} (https://github.com/localstack/localstack, Apache-2.0)",
        "revision": args.localstack_revision,
        "roles": roles,
    }
    (args.out / ROLES_OUT).write_text(json.dumps(slr, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    size = (args.out / POLICIES_OUT).stat().st_size
    print(f"{len(policies)} AWS managed policies ({size} bytes), {len(roles)} service-linked roles -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
