"""The manifest's SM2 key pair stays one pair: exports racing to create the demo key agree on it, a public
file that does not belong to the private key is rewritten for a demo key and refused for a configured one."""

from __future__ import annotations

import threading

import pytest

from core.export import signing


def test_racing_exports_create_one_demo_pair_that_verifies():
    results: list[tuple[str, str]] = []
    barrier = threading.Barrier(4)

    def create():
        barrier.wait()
        results.append(signing.ensure_sm2_keys())

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1
    private_hex, public_hex = results[0]
    paths = signing.key_paths()
    assert paths.sm2_public.read_text().strip() == public_hex == signing.sm2_public_key(private_hex)
    sig = signing.sm2_sign(b"manifest", private_hex, public_hex)
    assert signing.sm2_verify(b"manifest", sig, paths.sm2_public.read_text().strip())


def test_a_stale_public_file_of_a_demo_key_is_rewritten():
    private_hex, public_hex = signing.ensure_sm2_keys()
    paths = signing.key_paths()
    paths.sm2_public.write_text(signing.generate_sm2_keypair()[1])  # another pair's public key
    assert signing.ensure_sm2_keys() == (private_hex, public_hex)
    assert paths.sm2_public.read_text().strip() == public_hex


def test_a_configured_key_with_another_public_key_is_refused(monkeypatch):
    paths = signing.key_paths()
    private_hex, _ = signing.generate_sm2_keypair()
    paths.sm2_private.parent.mkdir(parents=True, exist_ok=True)
    paths.sm2_private.write_text(private_hex)  # configured by the hospital: no demo marker
    paths.sm2_public.write_text(signing.generate_sm2_keypair()[1])
    monkeypatch.delenv("DEID_DEMO", raising=False)
    with pytest.raises(signing.SigningNotConfigured) as err:
        signing.ensure_sm2_keys()
    assert "不匹配" in err.value.message_zh


def test_a_public_key_starting_with_04_signs_and_verifies():
    # x starts with "0445…": gmssl's constructor would strip it as if it were a point prefix
    private_hex = "2dcaa64cda1efbdbf9420caa5508734ba7a86882a6f8ddc7446ef42b29cf43c6"
    public_hex = signing.sm2_public_key(private_hex)
    assert public_hex.startswith("0445") and len(public_hex) == 128
    sig = signing.sm2_sign(b"manifest", private_hex, public_hex)
    assert signing.sm2_verify(b"manifest", sig, public_hex)
    assert not signing.sm2_verify(b"other manifest", sig, public_hex)
