"""The password vault: scrypt hashes sealed to this machine, tamper evidence, lockout.

Files in the vault directory (the data dir):

    vault.bin       sealed JSON: the two password hashes, the API token, setup history
    vault.marker    plain JSON: the seal method, creation time, SHA-256 of the sealed blob(s)
    vault.lockout   sealed JSON: wrong-password counters per password kind

The marker exists so that a deleted or replaced vault is noticed: the vault and the marker
must agree. What this does NOT protect against, honestly: code running as the same user can
unseal (DPAPI current-user scope, or the 0600 key file), so a determined attacker with that
access can forge a matching vault and marker; and an attacker who deletes the vault, the
marker, the lockout file AND empties the config's targets gets a first-run setup that looks
genuine from this machine alone. The backstops are off the box: Discord stops receiving the
shop's messages, and the guard reports every kill that was not a password exit.

Password rules and hashing are in passwords.py; the lockout is the pure state machine of
lockout.py, and `Vault.verify` persists it after every try.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentinel.errors import UserError
from sentinel.files import atomic_write
from sentinel.services.access.lockout import (MAX_TRIES, AttemptResult, Lockout, lock_duration_s, register_failure,
                                              register_success, remaining_s)
from sentinel.services.access.passwords import (VaultError, hash_password, needs_rehash, normalise_password,
                                                password_problem, verify_password)
from sentinel.timefmt import spoken, stamp

log = logging.getLogger(__name__)

VAULT_FILE = "vault.bin"
MARKER_FILE = "vault.marker"
LOCKOUT_FILE = "vault.lockout"
FORMAT = 1

ADMIN = "admin"
PRIVACY = "privacy"
KINDS = (ADMIN, PRIVACY)
_KIND_TITLES = {ADMIN: "admin", PRIVACY: "privacy"}


class PasswordRuleError(UserError):
    """A new password breaks a rule; the message says which, `field` says which password."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


class VaultState(enum.Enum):
    NEEDS_SETUP = "needs_setup"  # first run: no trace of an earlier setup
    READY = "ready"
    TAMPERED = "tampered"  # an earlier setup was removed or edited; a new setup is allowed


@dataclass(frozen=True, slots=True)
class TamperReport:
    """Evidence that the vault (or its lockout record) was removed or edited."""

    at_wall: float
    what: str

    def text(self) -> str:
        return f"Vault tampering detected: {self.what}. The previous setup was removed or edited."


@dataclass(frozen=True, slots=True)
class VaultCheck:
    state: VaultState
    tamper: TamperReport | None = None  # set whenever something must be reported

    @property
    def needs_setup(self) -> bool:
        return self.state is not VaultState.READY


# ---------------------------------------------------------------- password hashes


def _default_sealer():
    import sentinel.platform as platform  # the platform helper's module: seal/unseal/SEAL_METHOD/TamperError

    return platform


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Vault:
    """The vault in `directory`. `sealer` provides seal/unseal/SEAL_METHOD/TamperError
    (sentinel.platform by default). Every method is quick except the scrypt work (~0.1 s)."""

    def __init__(self, directory: Path, sealer: Any = None):
        self.directory = Path(directory)
        self._sealer = sealer if sealer is not None else _default_sealer()
        self._data: dict | None = None
        self._lockouts: dict[str, Lockout] | None = None

    @property
    def vault_path(self) -> Path:
        return self.directory / VAULT_FILE

    @property
    def marker_path(self) -> Path:
        return self.directory / MARKER_FILE

    @property
    def lockout_path(self) -> Path:
        return self.directory / LOCKOUT_FILE

    # ---- state and tamper detection

    def check(self, now: float, config_configured: bool = False) -> VaultCheck:
        """Read the vault and say whether setup is needed and whether something must be reported.

        `config_configured`: the config already has targets (Config.is_configured). The shipped
        config has none, so a configured config without any vault means one was deleted.
        """
        self._data = None
        vault_exists = self.vault_path.exists()
        marker_exists = self.marker_path.exists()
        if not vault_exists and not marker_exists:
            if self.lockout_path.exists():
                return self._tampered(now, "the vault and its marker were deleted (the lockout record remains)")
            if config_configured:
                return self._tampered(now, "the vault and its marker were deleted (the config still has targets)")
            return VaultCheck(VaultState.NEEDS_SETUP)
        if not vault_exists:
            return self._tampered(now, "the vault file was deleted")
        if not marker_exists:
            return self._tampered(now, "the vault marker was deleted")
        try:
            marker = json.loads(self.marker_path.read_text("utf-8"))
            accepted = set(marker["sealed_sha256"])
            method = marker["method"]
        except (OSError, ValueError, KeyError, TypeError):
            return self._tampered(now, "the vault marker was edited (unreadable)")
        try:
            blob = self.vault_path.read_bytes()
        except OSError as exc:
            return self._tampered(now, f"the vault file cannot be read ({exc.strerror})")
        if method != self._sealer.SEAL_METHOD:
            return self._tampered(now, f"the vault was sealed with {method!r}, this machine uses "
                                       f"{self._sealer.SEAL_METHOD!r} (copied from elsewhere?)")
        if _sha256(blob) not in accepted:
            return self._tampered(now, "the vault file was edited or replaced (it does not match its marker)")
        try:
            data = json.loads(self._sealer.unseal(blob, self.directory))
            for kind in KINDS:
                if data["passwords"][kind]["alg"] != "scrypt":
                    raise ValueError(kind)
        except self._sealer.TamperError:
            return self._tampered(now, "the vault cannot be unsealed on this machine (edited, or its key was removed)")
        except (ValueError, KeyError, TypeError):
            return self._tampered(now, "the vault content is not a valid vault")
        self._data = data
        if len(accepted) > 1:
            self._write_marker({_sha256(blob)}, data["created_wall"])  # finish a write a crash interrupted
        problem = self._load_lockouts(now)
        if problem:
            return VaultCheck(VaultState.READY, TamperReport(now, problem))
        return VaultCheck(VaultState.READY)

    def _tampered(self, now: float, what: str) -> VaultCheck:
        log.warning("vault tampering: %s", what)
        return VaultCheck(VaultState.TAMPERED, TamperReport(now, what))

    def _require(self) -> dict:
        if self._data is None:
            raise VaultError("the vault is not set up or was not checked; call check() first")
        return self._data

    @property
    def api_token(self) -> str:
        return self._require()["api_token"]

    @property
    def created_wall(self) -> float:
        return self._require()["created_wall"]

    @property
    def history(self) -> list[dict]:
        """Setup events ({"at_wall", "what"}), including tampering that preceded a re-setup."""
        return list(self._require().get("history", []))

    # ---- setup and password changes

    @staticmethod
    def new_password_problems(admin: str, privacy: str) -> list[tuple[str, str]]:
        """(field, message) for every rule the two new passwords break; field is admin/privacy."""
        problems = []
        for kind, password in ((ADMIN, admin), (PRIVACY, privacy)):
            problem = password_problem(password)
            if problem:
                problems.append((kind, f"The {_KIND_TITLES[kind]} password {problem}."))
        if not problems and normalise_password(admin) == normalise_password(privacy):
            # Both are still plain text here (the wizard's instant feedback); setup() checks the hash.
            problems.append((PRIVACY, "The privacy password must differ from the admin password."))
        return problems

    def setup(self, admin: str, privacy: str, now: float, *, replace_tampered: TamperReport | None = None) -> None:
        """First-run setup. A vault that is READY is never overwritten here; one found TAMPERED is
        replaced only when the caller passes the report it showed (`replace_tampered`), which is
        recorded in the new vault's history."""
        state = self.check(now).state
        if state is VaultState.READY:
            raise VaultError("the vault is already set up; change passwords with set_password()")
        if state is VaultState.TAMPERED and replace_tampered is None:
            raise VaultError("the previous vault was removed or edited; report it, then pass replace_tampered")
        problems = self.new_password_problems(admin, privacy)
        if problems:
            raise PasswordRuleError(*problems[0])
        hashes = {ADMIN: hash_password(admin)}
        # Only hashes are stored, so "the two must differ" is checked against the other's hash.
        if verify_password(privacy, hashes[ADMIN]):
            raise PasswordRuleError(PRIVACY, "The privacy password must differ from the admin password.")
        hashes[PRIVACY] = hash_password(privacy)
        history = [{"at_wall": now, "what": "setup"}]
        if replace_tampered is not None:
            history.insert(0, {"at_wall": replace_tampered.at_wall, "what": f"tampered: {replace_tampered.what}"})
        data = {
            "format": FORMAT,
            "created_wall": now,
            "created": stamp(now),
            "passwords": hashes,
            "api_token": secrets.token_urlsafe(32),
            "history": history,
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        self._write_vault(data, previous=None)
        self._lockouts = {kind: Lockout() for kind in KINDS}
        self._write_lockouts()

    def set_password(self, kind: str, new_password: str, now: float) -> None:
        """Change one password (the caller has already asked for the admin password)."""
        data = self._require()
        problem = password_problem(new_password)
        if problem:
            raise PasswordRuleError(kind, f"The {_KIND_TITLES[kind]} password {problem}.")
        other = PRIVACY if kind == ADMIN else ADMIN
        if verify_password(new_password, data["passwords"][other]):
            raise PasswordRuleError(kind, "The admin and privacy passwords must differ.")
        new = dict(data, passwords=dict(data["passwords"], **{kind: hash_password(new_password)}))
        new["history"] = data.get("history", []) + [{"at_wall": now, "what": f"{kind} password changed"}]
        self._write_vault(new, previous=self.vault_path.read_bytes())

    # ---- verification with lockout

    def lockout(self, kind: str) -> Lockout:
        self._require()
        return self._lockouts.get(kind, Lockout())

    def remaining_lock_s(self, kind: str, now: float) -> float:
        return remaining_s(self.lockout(kind), now)

    def verify(self, kind: str, password: str, now: float, action: str = "exit") -> AttemptResult:
        """Check `password` for `kind`; counts wrong tries, persists the lockout state.

        While locked, the password is not even checked. `action` names what the password was
        for in the lockout alert ("exit", "privacy mode").
        """
        data = self._require()
        state = self.lockout(kind)
        wait = remaining_s(state, now)
        if wait > 0:
            return AttemptResult(ok=False, locked_for_s=wait, tries_left=0)
        record = data["passwords"][kind]
        if verify_password(password, record):
            if state != Lockout():
                self._set_lockout(kind, register_success(state))
            if needs_rehash(record):
                self._rehash(kind, password)
            return AttemptResult(ok=True)
        state, alert = register_failure(state, now, kind, action)
        self._set_lockout(kind, state)
        if alert:
            log.warning("password lockout: %s", alert.text())
            return AttemptResult(ok=False, locked_for_s=alert.locked_for_s, tries_left=0, alert=alert)
        return AttemptResult(ok=False, tries_left=MAX_TRIES - state.failures)

    def _rehash(self, kind: str, password: str) -> None:
        data = self._require()
        new = dict(data, passwords=dict(data["passwords"], **{kind: hash_password(password)}))
        self._write_vault(new, previous=self.vault_path.read_bytes())

    def _set_lockout(self, kind: str, state: Lockout) -> None:
        self._lockouts[kind] = state
        self._write_lockouts()

    # ---- files

    def _load_lockouts(self, now: float) -> str | None:
        """Read the lockout record; a missing or edited one fails closed (one lockout) and is reported."""
        try:
            raw = json.loads(self._sealer.unseal(self.lockout_path.read_bytes(), self.directory))
            self._lockouts = {kind: Lockout(**raw[kind]) for kind in KINDS}
            return None
        except FileNotFoundError:
            problem = "the lockout record was deleted"
        except (OSError, ValueError, KeyError, TypeError, self._sealer.TamperError):
            problem = "the lockout record was edited"
        duration = lock_duration_s(1)
        self._lockouts = {kind: Lockout(lockouts=1, locked_at=now, locked_for_s=duration) for kind in KINDS}
        self._write_lockouts()
        log.warning("vault tampering: %s; locked for %s", problem, spoken(duration))
        return f"{problem}; passwords are locked for {spoken(duration)}"

    def _write_lockouts(self) -> None:
        raw = {kind: {"failures": s.failures, "lockouts": s.lockouts, "locked_at": s.locked_at,
                      "locked_for_s": s.locked_for_s} for kind, s in self._lockouts.items()}
        self._write_private(self.lockout_path, self._sealer.seal(json.dumps(raw).encode(), self.directory))

    def _write_vault(self, data: dict, previous: bytes | None) -> None:
        """Marker accepting old+new, then the vault, then the marker with only the new hash:
        a crash at any point leaves a pair that still checks."""
        blob = self._sealer.seal(json.dumps(data, sort_keys=True).encode(), self.directory)
        created = data["created_wall"]
        if previous is not None:
            self._write_marker({_sha256(previous), _sha256(blob)}, created)
        else:
            self._write_marker({_sha256(blob)}, created)
        self._write_private(self.vault_path, blob)
        if previous is not None:
            self._write_marker({_sha256(blob)}, created)
        self._data = data

    def _write_marker(self, accepted: set[str], created: float) -> None:
        marker = {"format": FORMAT, "method": self._sealer.SEAL_METHOD, "created_wall": created,
                  "created": stamp(created), "sealed_sha256": sorted(accepted)}
        self._write_private(self.marker_path, (json.dumps(marker, indent=1) + "\n").encode())

    @staticmethod
    def _write_private(path: Path, data: bytes) -> None:
        atomic_write(path, data)  # mkstemp creates the temp file 0600; the rename keeps it
        if os.name == "posix":
            os.chmod(path, 0o600)
