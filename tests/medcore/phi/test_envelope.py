"""AES-256-GCM envelope encryption: round trips, associated data, tampering, caching and rotation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medcore.phi.envelope import DecryptError, Envelope, EnvelopeCipher, KmsKeyProvider, LocalKeyProvider


@pytest.fixture
def local(tmp_path) -> EnvelopeCipher:
    provider = LocalKeyProvider(tmp_path / "keys")
    return EnvelopeCipher(provider, provider.ensure_key("k1"))


class CountingProvider(LocalKeyProvider):
    def __init__(self, key_dir):
        super().__init__(key_dir)
        self.generated = self.unwrapped = 0

    def generate_data_key(self, key_id):
        self.generated += 1
        return super().generate_data_key(key_id)

    def unwrap(self, key_id, wrapped):
        self.unwrapped += 1
        return super().unwrap(key_id, wrapped)


@settings(max_examples=50, deadline=None)
@given(value=st.text(min_size=0, max_size=300), aad=st.binary(max_size=40))
def test_round_trip_and_stored_form(tmp_path_factory, value, aad):
    provider = LocalKeyProvider(tmp_path_factory.mktemp("k"))
    cipher = EnvelopeCipher(provider, provider.ensure_key())
    env = cipher.encrypt(value, aad)
    stored = env.to_dict()
    assert set(stored) == {"alg", "kid", "edk", "iv", "ct"} and stored["alg"] == "AES-256-GCM"
    assert len(env.nonce) == 12 and len(env.ciphertext) == len(value.encode()) + 16
    assert cipher.decrypt(Envelope.from_dict(stored), aad).decode() == value


def test_wrong_aad_or_any_flipped_byte_fails(local):
    env = local.encrypt("Jane Q Public", b"tenant-a|enc-1|patient.name")
    with pytest.raises(DecryptError):
        local.decrypt(env, b"tenant-a|enc-1|patient.member_id")
    for i in range(len(env.ciphertext)):
        broken = bytearray(env.ciphertext)
        broken[i] ^= 1
        with pytest.raises(DecryptError):
            local.decrypt(Envelope(env.key_id, env.wrapped_key, env.nonce, bytes(broken)), b"tenant-a|enc-1|patient.name")
    with pytest.raises(DecryptError):
        local.decrypt({"alg": "AES-256-GCM", "kid": "k1"}, b"")


def test_data_keys_are_cached_briefly_and_bounded(tmp_path):
    provider = CountingProvider(tmp_path)
    cipher = EnvelopeCipher(provider, provider.ensure_key(), cache_ttl_s=60, max_uses=3)
    envs = [cipher.encrypt(f"v{i}") for i in range(7)]
    assert provider.generated == 3  # 3 + 3 + 1
    assert len({e.wrapped_key for e in envs}) == 3
    assert [cipher.decrypt(e) for e in envs] == [f"v{i}".encode() for i in range(7)]
    assert provider.unwrapped == 0  # the cache already held them
    cipher.clear_cache()
    cipher.decrypt(envs[0])
    cipher.decrypt(envs[1])
    assert provider.unwrapped == 1
    expiring = EnvelopeCipher(provider, "local-default", cache_ttl_s=0)
    expiring.encrypt("a"), expiring.encrypt("b")
    assert provider.generated == 5


def test_rotation_keeps_old_envelopes_readable_until_rotated(tmp_path):
    provider = LocalKeyProvider(tmp_path)
    cipher = EnvelopeCipher(provider, provider.ensure_key("v1"))
    old = cipher.encrypt("member W123", b"aad")
    cipher.use_key(provider.ensure_key("v2"))
    assert cipher.encrypt("x").key_id == "v2"
    assert cipher.decrypt(old, b"aad") == b"member W123"
    rotated = cipher.rotate(old, b"aad")
    assert rotated.key_id == "v2" and rotated.wrapped_key != old.wrapped_key and rotated.nonce != old.nonce
    rewrapped = cipher.rewrap(old)
    assert rewrapped.key_id == "v2" and rewrapped.ciphertext == old.ciphertext
    (tmp_path / "v1.key").unlink()  # the old master key retired
    cipher.clear_cache()
    assert cipher.decrypt(rotated, b"aad") == cipher.decrypt(rewrapped, b"aad") == b"member W123"
    with pytest.raises(DecryptError):
        cipher.decrypt(old, b"aad")


@pytest.mark.integration
def test_kms_data_keys_and_cmk_rotation(services):
    if "moto" not in services:
        pytest.skip("needs moto server")
    kms = KmsKeyProvider()
    alias = "alias/medcode-phi-test-" + __import__("uuid").uuid4().hex[:8]
    first = kms.ensure_key(alias)
    assert kms.ensure_key(alias) == first
    cipher = EnvelopeCipher(kms, alias)
    old = cipher.encrypt("DOB 1960-02-14", b"aad")
    assert old.key_id == first and len(old.wrapped_key) > 32
    second = kms.create_key()
    kms.point_alias(alias, second)
    cipher.use_key(alias)
    fresh = cipher.encrypt("DOB 1960-02-14", b"aad")
    assert fresh.key_id == second
    cipher.clear_cache()
    assert cipher.decrypt(old, b"aad") == cipher.decrypt(fresh, b"aad")
    assert cipher.rotate(old, b"aad").key_id == second
    assert cipher.rewrap(old, second).key_id == second
