"""The vault: scrypt records, rules, tamper evidence, lockout (pure and persisted)."""

from __future__ import annotations

import base64
import json
import os
import statistics
import time

import pytest

import sentinel.platform as platform
from sentinel.services.access import passwords as passwords_mod
from sentinel.services.access.lockout import (LOCK_MAX_S, MAX_TRIES, Lockout, lock_duration_s, register_failure,
                                              register_success, remaining_s)
from sentinel.services.access.passwords import VaultError, hash_password, verify_password
from sentinel.services.access.vault import ADMIN, PRIVACY, PasswordRuleError, TamperReport, Vault, VaultState

ADMIN_PW = "owner-secret"
PRIVACY_PW = "privacy-please"
T0 = time.mktime((2024, 5, 1, 14, 2, 0, 0, 0, -1))  # 14:02 local time


@pytest.fixture
def vault(tmp_path):
    v = Vault(tmp_path / "data", platform)
    v.setup(ADMIN_PW, PRIVACY_PW, T0)
    return v


def reopen(v: Vault, now=T0, configured=False):
    fresh = Vault(v.directory, platform)
    return fresh, fresh.check(now, config_configured=configured)


# ---------------------------------------------------------------- hashes


def test_record_carries_scrypt_parameters_salt_and_key():
    record = hash_password("abcdef")
    assert (record["alg"], record["n"], record["r"], record["p"], record["length"]) == ("scrypt", 2**14, 8, 1, 32)
    assert len(base64.b64decode(record["salt"])) == 16
    assert len(base64.b64decode(record["hash"])) == 32
    assert "abcdef" not in json.dumps(record)


def test_salt_is_unique_per_hash():
    records = [hash_password("same-password") for _ in range(3)]
    assert len({r["salt"] for r in records}) == 3
    assert len({r["hash"] for r in records}) == 3


def test_verify_right_and_wrong():
    record = hash_password("correct horse")
    assert verify_password("correct horse", record)
    assert not verify_password("correct hors", record)
    assert not verify_password("", record)


def test_verify_uses_recorded_parameters():
    """A record made with weaker (older) parameters still verifies, and is flagged for rehash."""
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    salt = os.urandom(16)
    key = Scrypt(salt=salt, length=32, n=2**12, r=8, p=1).derive(b"old-params")
    record = {"alg": "scrypt", "n": 2**12, "r": 8, "p": 1, "length": 32,
              "salt": base64.b64encode(salt).decode(), "hash": base64.b64encode(key).decode()}
    assert verify_password("old-params", record)
    assert passwords_mod.needs_rehash(record)
    assert not passwords_mod.needs_rehash(hash_password("x" * 6))


class RecordingScrypt:
    """Stands in for the Scrypt class: records which methods the vault calls, delegates to the real one."""

    calls: list[str] = []
    real = passwords_mod.Scrypt

    def __init__(self, **kwargs):
        self._kdf = self.real(**kwargs)

    def derive(self, data):
        self.calls.append("derive")
        return self._kdf.derive(data)

    def verify(self, data, expected):
        self.calls.append("verify")
        return self._kdf.verify(data, expected)


def test_verification_goes_through_constant_time_scrypt_verify(monkeypatch):
    record = hash_password("pass-word")
    RecordingScrypt.calls = []
    monkeypatch.setattr(passwords_mod, "Scrypt", RecordingScrypt)
    assert verify_password("pass-word", record)
    assert not verify_password("pass-wore", record)
    assert RecordingScrypt.calls == ["verify", "verify"]  # never derive-and-compare with ==


def test_wrong_and_right_password_take_about_the_same_time():
    """Loose sanity check (the constant-time property is the library's): medians within 2x.

    The three candidates are measured round-robin, so machine noise hits all of them alike.
    """
    record = hash_password("timing-test")
    candidates = {"right": "timing-test", "wrong first char": "Ximing-test", "wrong last char": "timing-tesX"}
    samples = {name: [] for name in candidates}
    for _ in range(7):
        for name, password in candidates.items():
            start = time.perf_counter()
            verify_password(password, record)
            samples[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name in ("wrong first char", "wrong last char"):
        assert 0.5 < medians[name] / medians["right"] < 2.0, medians


# ---------------------------------------------------------------- rules


@pytest.mark.parametrize("admin, privacy, field, message", [
    ("abc", PRIVACY_PW, ADMIN, "The admin password must be at least 6 characters (got 3)."),
    (ADMIN_PW, "12345", PRIVACY, "The privacy password must be at least 6 characters (got 5)."),
    (ADMIN_PW, ADMIN_PW, PRIVACY, "The privacy password must differ from the admin password."),
    ("      ", PRIVACY_PW, ADMIN, "The admin password must not be only spaces."),
])
def test_setup_rules(tmp_path, admin, privacy, field, message):
    v = Vault(tmp_path, platform)
    with pytest.raises(PasswordRuleError) as info:
        v.setup(admin, privacy, T0)
    assert (info.value.field, str(info.value)) == (field, message)
    assert not v.vault_path.exists() and not v.marker_path.exists()


def test_six_characters_is_enough(tmp_path):
    Vault(tmp_path, platform).setup("abcdef", "ghijkl", T0)
    v, check = reopen(Vault(tmp_path, platform))
    assert check.state is VaultState.READY


def test_set_password_must_differ_from_the_other_hash(vault):
    with pytest.raises(PasswordRuleError, match="must differ"):
        vault.set_password(ADMIN, PRIVACY_PW, T0)
    vault.set_password(ADMIN, "brand-new-admin", T0 + 1)
    v, check = reopen(vault)
    assert check.state is VaultState.READY
    assert v.verify(ADMIN, "brand-new-admin", T0 + 2).ok
    assert not v.verify(ADMIN, ADMIN_PW, T0 + 3).ok


# ---------------------------------------------------------------- files and tamper evidence


def test_first_run_needs_setup(tmp_path):
    check = Vault(tmp_path, platform).check(T0)
    assert check.state is VaultState.NEEDS_SETUP and check.tamper is None


def test_setup_writes_sealed_private_files(vault):
    v, check = reopen(vault)
    assert check.state is VaultState.READY and check.tamper is None
    assert v.created_wall == T0 and len(v.api_token) >= 40
    blob = v.vault_path.read_bytes()
    assert b"scrypt" not in blob and ADMIN_PW.encode() not in blob  # sealed, not plain JSON
    marker = json.loads(v.marker_path.read_text())
    assert marker["method"] == platform.SEAL_METHOD and marker["created_wall"] == T0
    if os.name == "posix":
        for path in (v.vault_path, v.marker_path, v.lockout_path):
            assert path.stat().st_mode & 0o777 == 0o600, path


def test_verify_after_reopen(vault):
    v, _ = reopen(vault)
    assert v.verify(ADMIN, ADMIN_PW, T0).ok
    assert v.verify(PRIVACY, PRIVACY_PW, T0).ok
    assert not v.verify(ADMIN, PRIVACY_PW, T0).ok


def _flip_byte(path, index):
    data = bytearray(path.read_bytes())
    data[index] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage, what", [
    (lambda v: v.vault_path.unlink(), "vault file was deleted"),
    (lambda v: _flip_byte(v.vault_path, -5), "does not match its marker"),
    (lambda v: v.marker_path.unlink(), "marker was deleted"),
    (lambda v: v.marker_path.write_text("{not json"), "marker was edited"),
    (lambda v: v.marker_path.write_text(json.dumps(dict(json.loads(v.marker_path.read_text()),
                                                        sealed_sha256=["0" * 64]))), "does not match its marker"),
    (lambda v: v.marker_path.write_text(json.dumps(dict(json.loads(v.marker_path.read_text()),
                                                        method="dpapi"))), "sealed with 'dpapi'"),
    (lambda v: (v.vault_path.unlink(), v.marker_path.unlink()), "lockout record remains"),
])
def test_tampering_is_detected(vault, damage, what):
    damage(vault)
    v, check = reopen(vault)
    assert check.state is VaultState.TAMPERED
    assert what in check.tamper.what
    assert "previous setup was removed or edited" in check.tamper.text()
    with pytest.raises(VaultError):
        v.verify(ADMIN, ADMIN_PW, T0)


def test_all_vault_files_deleted_but_config_configured_is_tampering(vault):
    for path in (vault.vault_path, vault.marker_path, vault.lockout_path):
        path.unlink()
    assert reopen(vault)[1].state is VaultState.NEEDS_SETUP  # the honest limit: nothing left to tell
    check = reopen(vault, configured=True)[1]
    assert check.state is VaultState.TAMPERED and "config still has targets" in check.tamper.what


def test_edited_vault_with_matching_marker_fails_to_unseal(vault):
    """An attacker who also fixes the marker's hash still cannot get past the seal."""
    _flip_byte(vault.vault_path, -5)
    import hashlib
    marker = json.loads(vault.marker_path.read_text())
    marker["sealed_sha256"] = [hashlib.sha256(vault.vault_path.read_bytes()).hexdigest()]
    vault.marker_path.write_text(json.dumps(marker))
    check = reopen(vault)[1]
    assert check.state is VaultState.TAMPERED and "cannot be unsealed" in check.tamper.what


def test_vault_swapped_for_one_from_another_setup_is_detected(tmp_path, vault):
    """A vault the attacker set up elsewhere with the same key (copied) does not match the marker."""
    other = Vault(tmp_path / "other", platform)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "machine.key").write_bytes((vault.directory / "machine.key").read_bytes())
    os.chmod(tmp_path / "other" / "machine.key", 0o600)
    other.setup("attacker-pw", "attacker-pw2", T0)
    vault.vault_path.write_bytes(other.vault_path.read_bytes())
    check = reopen(vault)[1]
    assert check.state is VaultState.TAMPERED and "does not match its marker" in check.tamper.what


def test_setup_never_silently_replaces(vault):
    with pytest.raises(VaultError, match="already set up"):
        vault.setup("another-admin", "another-privacy", T0)
    vault.vault_path.unlink()
    v, check = reopen(vault)
    with pytest.raises(VaultError, match="replace_tampered"):
        v.setup("another-admin", "another-privacy", T0 + 10)
    v.setup("another-admin", "another-privacy", T0 + 10, replace_tampered=check.tamper)
    v2, check2 = reopen(v, now=T0 + 20)
    assert check2.state is VaultState.READY
    assert [h["what"] for h in v2.history] == ["tampered: the vault file was deleted", "setup"]
    assert v2.verify(ADMIN, "another-admin", T0 + 20).ok


def test_interrupted_rewrite_still_checks(vault):
    """Crash after the marker accepted old+new but before the vault was replaced: still READY."""
    old_blob = vault.vault_path.read_bytes()
    marker = json.loads(vault.marker_path.read_text())
    marker["sealed_sha256"].append("f" * 64)  # the hash of a vault that was never written
    vault.marker_path.write_text(json.dumps(marker))
    v, check = reopen(vault)
    assert check.state is VaultState.READY and check.tamper is None
    assert v.vault_path.read_bytes() == old_blob
    assert len(json.loads(v.marker_path.read_text())["sealed_sha256"]) == 1  # tidied


# ---------------------------------------------------------------- lockout, pure


@pytest.mark.parametrize("number, seconds", [
    (1, 30), (2, 60), (3, 120), (4, 240), (5, 480), (6, 960), (7, 1920), (8, LOCK_MAX_S), (30, LOCK_MAX_S),
])
def test_lock_duration_grows_and_is_capped(number, seconds):
    assert lock_duration_s(number) == seconds


def test_lockout_sequence_with_fake_clock():
    # (seconds after T0, outcome of that try) -> expected (failures, lockouts, remaining, alert seconds)
    state = Lockout()
    table = [
        (0, "wrong", 1, 0, 0, None),
        (1, "wrong", 2, 0, 0, None),
        (2, "wrong", 3, 0, 0, None),
        (3, "wrong", 4, 0, 0, None),
        (4, "wrong", 0, 1, 30, 30),
        (34, "wrong", 1, 1, 0, None),  # lock over: counting again, escalation remembered
        (35, "wrong", 2, 1, 0, None),
        (36, "wrong", 3, 1, 0, None),
        (37, "wrong", 4, 1, 0, None),
        (38, "wrong", 0, 2, 60, 60),
        (98, "right", 0, 0, 0, None),  # success resets everything
        (99, "wrong", 1, 0, 0, None),
    ]
    for offset, outcome, failures, lockouts, remaining, alert_s in table:
        now = T0 + offset
        assert remaining_s(state, now) == 0, offset
        alert = None
        if outcome == "wrong":
            state, alert = register_failure(state, now, ADMIN, "exit")
        else:
            state = register_success(state)
        assert (state.failures, state.lockouts, remaining_s(state, now)) == (failures, lockouts, remaining), offset
        assert (alert.locked_for_s if alert else None) == alert_s, offset


def test_remaining_counts_down_and_tolerates_clock_going_back():
    state, _ = register_failure(Lockout(failures=MAX_TRIES - 1), T0, ADMIN, "exit")
    assert [remaining_s(state, T0 + s) for s in (0, 10, 29.5, 30, 500)] == [30, 20, 0.5, 0, 0]
    assert remaining_s(state, T0 - 3600) == 30  # clock set back: never longer than the lockout


def test_alert_text():
    _, alert = register_failure(Lockout(failures=4, lockouts=1), T0, ADMIN, "exit")
    assert alert.text() == "5 wrong exit passwords at 14:02; locked for 60 s"
    _, alert = register_failure(Lockout(failures=4, lockouts=9), T0, PRIVACY, "privacy mode")
    assert alert.text() == "5 wrong privacy mode passwords at 14:02; locked for 1 h"


# ---------------------------------------------------------------- lockout through the vault


def test_five_wrong_passwords_lock_and_the_right_one_waits(vault):
    results = [vault.verify(ADMIN, "nope-nope", T0 + i) for i in range(MAX_TRIES)]
    assert [r.tries_left for r in results[:-1]] == [4, 3, 2, 1]
    last = results[-1]
    assert last.locked and last.locked_for_s == 30 and last.alert is not None
    assert last.alert.text() == "5 wrong exit passwords at 14:02; locked for 30 s"
    locked_try = vault.verify(ADMIN, ADMIN_PW, T0 + 10)
    assert not locked_try.ok and locked_try.locked_for_s == pytest.approx(24) and locked_try.alert is None
    assert vault.verify(PRIVACY, PRIVACY_PW, T0 + 10).ok  # the other password has its own counter
    assert vault.verify(ADMIN, ADMIN_PW, T0 + 34).ok
    assert vault.lockout(ADMIN) == Lockout()


def test_lockout_survives_restart(vault):
    for i in range(MAX_TRIES):
        vault.verify(ADMIN, "wrong-one", T0 + i)
    v, check = reopen(vault, now=T0 + 5)
    assert check.state is VaultState.READY
    assert v.remaining_lock_s(ADMIN, T0 + 5) == pytest.approx(29)
    assert not v.verify(ADMIN, ADMIN_PW, T0 + 5).ok
    # three more wrong after the lock, restart, two more: the second lockout is 60 s
    for i in range(3):
        v.verify(ADMIN, "wrong-two", T0 + 40 + i)
    v, _ = reopen(v, now=T0 + 50)
    v.verify(ADMIN, "wrong-three", T0 + 50)
    result = v.verify(ADMIN, "wrong-three", T0 + 51)
    assert result.alert is not None and result.alert.locked_for_s == 60 and result.alert.lockout_number == 2


@pytest.mark.parametrize("damage, what", [
    (lambda v: v.lockout_path.unlink(), "lockout record was deleted"),
    (lambda v: _flip_byte(v.lockout_path, -3), "lockout record was edited"),
])
def test_lockout_record_tampering_fails_closed(vault, damage, what):
    damage(vault)
    v, check = reopen(vault)
    assert check.state is VaultState.READY
    assert what in check.tamper.what and "locked for 30 s" in check.tamper.what
    assert v.verify(ADMIN, ADMIN_PW, T0 + 1).locked
    assert v.verify(ADMIN, ADMIN_PW, T0 + 31).ok
    assert reopen(v, now=T0 + 40)[1].tamper is None  # reported once, then a clean record again


def test_tamper_report_is_a_value():
    report = TamperReport(T0, "the vault file was deleted")
    assert report.text().startswith("Vault tampering detected: the vault file was deleted.")
