"""crypto.secrets.random_string: right length, right alphabet, every character equally likely."""

from __future__ import annotations

import collections
import string

import pytest

from ostiary.crypto.secrets import new_access_key_id, new_secret_access_key, random_string


def test_access_keys_look_like_aws_keys() -> None:
    akid = new_access_key_id("ASIA")
    assert len(akid) == 20 and akid.startswith("ASIA") and set(akid[4:]) <= set(string.ascii_uppercase + "234567")
    secret = new_secret_access_key()
    assert len(secret) == 40 and set(secret) <= set(string.ascii_letters + string.digits + "+/")
    assert len({new_secret_access_key() for _ in range(1000)}) == 1000


@pytest.mark.parametrize("alphabet", ["abc", string.ascii_letters + string.digits + "+/", "0123456789"])
def test_every_character_is_equally_likely(alphabet: str) -> None:
    draws = 1_000_000
    counts = collections.Counter(random_string(alphabet, draws))
    assert sum(counts.values()) == draws and set(counts) == set(alphabet)
    expected = draws / len(alphabet)
    chi2 = sum((counts[c] - expected) ** 2 / expected for c in alphabet)
    # above the 99.99th percentile of chi-square with len - 1 ≤ 63 degrees of freedom (≈ 110); a
    # modulo without rejection (256 % 10 = 6: '0' to '5' 4 % likelier than '6' to '9') gives ≈ 365 here
    assert chi2 < 120


def test_an_alphabet_it_cannot_draw_from_uniformly_is_refused() -> None:
    with pytest.raises(ValueError):
        random_string("é" + string.ascii_letters, 8)
    with pytest.raises(ValueError):
        random_string("x" * 257, 8)
