#!/usr/bin/env python3
"""Build the breached-password set Ostiary ships (src/ostiary/userpools/risk/corpus/):

``common-passwords.sha1-64``
    The first 8 bytes of the SHA-1 of each password, sorted and unique, nothing else (no header):
    ``compromised.py`` memory-maps it and binary-searches it. 8 bytes = 64 bits: with ~45,000
    entries, a password outside the set matches one by chance with probability ~2.4e-15.

The passwords come from two lists of the most common breached passwords, each shipped inside a
package on PyPI (read from the wheel, never imported or executed):

- Django's ``django/contrib/auth/common-passwords.txt.gz`` (Django, BSD-3-Clause): the 20,000
  most common passwords of Royce Williams' list, which Django's CommonPasswordValidator uses;
- zxcvbn's ``zxcvbn/frequency_lists.py``, list ``passwords`` (zxcvbn, MIT): the 30,000 most
  frequent passwords of Mark Burnett's 10-million-password dump of leaked credentials (xato.net),
  as Dropbox's zxcvbn ranks them. This file is parsed with ``ast`` (a literal dict).

Both lists are lowercase, so Ostiary checks a password and its lowercase form.

    pip download --no-deps -d /tmp/wheels django==5.2.19 zxcvbn==4.5.0
    python tools/build_breached_corpus.py --django /tmp/wheels/django-5.2.19-py3-none-any.whl \\
        --zxcvbn /tmp/wheels/zxcvbn-4.5.0-py2.py3-none-any.whl

The output is deterministic: rebuilding from the same wheels leaves the file byte-identical.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import hashlib
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src/ostiary/userpools/risk/corpus/common-passwords.sha1-64"
PREFIX = 8


def django_passwords(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith("contrib/auth/common-passwords.txt.gz"))
        text = gzip.decompress(z.read(name)).decode()
    return [line.strip() for line in text.splitlines() if line.strip()]


def zxcvbn_passwords(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        source = z.read("zxcvbn/frequency_lists.py").decode()
    # FREQUENCY_LISTS = {"passwords": "123456,password,...".split(","), ...}: read the literal string
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "passwords":
                    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
                        value = value.func.value
                    text = ast.literal_eval(value)
                    return [p for p in (text.split(",") if isinstance(text, str) else text) if p]
    raise SystemExit("zxcvbn: the passwords list was not found")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--django", type=Path, required=True, help="Django's wheel")
    parser.add_argument("--zxcvbn", type=Path, required=True, help="zxcvbn's wheel")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    words = set(django_passwords(args.django)) | set(zxcvbn_passwords(args.zxcvbn))
    prefixes = sorted({hashlib.sha1(w.encode()).digest()[:PREFIX] for w in words})  # noqa: S324
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(b"".join(prefixes))
    print(f"{len(words)} passwords, {len(prefixes)} prefixes, {len(prefixes) * PREFIX} bytes -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
