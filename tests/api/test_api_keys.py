"""API keys: shown once, stored only as a hash, revocable, cached for a short TTL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from recsvc.cli import main
from recsvc.security import KeyAuthenticator, Principal, authenticate, create_key, revoke_key
from recsvc.store.engine import make_engine, upgrade
from recsvc.store.tables import ApiKeyRow


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def test_created_key_authenticates_as_its_principal(engine: Engine) -> None:
    with Session(engine) as session:
        key = create_key(session, role="manager", staff_id="S1", branch_id="B1", manager_id="M1")
        principal = authenticate(session, key)
    assert key.startswith("rk_")
    assert principal is not None
    assert (principal.role, principal.staff_id, principal.branch_id, principal.manager_id) == (
        "manager",
        "S1",
        "B1",
        "M1",
    )
    assert key.split("_")[1] == principal.key_id


def test_plaintext_is_never_stored(engine: Engine) -> None:
    with Session(engine) as session:
        key = create_key(session, role="teller", staff_id="S1")
        row = session.scalars(select(ApiKeyRow)).one()
    secret = key.split("_", 2)[2]
    stored = " ".join(str(getattr(row, c.key)) for c in ApiKeyRow.__table__.columns)
    assert secret not in stored
    assert key not in stored
    assert len(row.key_hash) == 64


@pytest.mark.parametrize(
    "mutate",
    [
        lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),  # wrong secret
        lambda k: "rk_ffffffffffffffff_" + k.split("_", 2)[2],  # unknown key id
        lambda k: k.replace("rk_", "xx_"),  # wrong prefix
        lambda k: "",
    ],
)
def test_wrong_keys_do_not_authenticate(engine: Engine, mutate) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        key = create_key(session, role="teller", staff_id="S1")
        assert authenticate(session, mutate(key)) is None


def test_revoked_key_no_longer_authenticates(engine: Engine) -> None:
    with Session(engine) as session:
        key = create_key(session, role="teller", staff_id="S1")
        principal = authenticate(session, key)
        assert principal is not None
        assert revoke_key(session, principal.key_id) is True
        assert authenticate(session, key) is None
        assert revoke_key(session, principal.key_id) is False


@pytest.mark.parametrize(("role", "staff"), [("janitor", "S1"), ("teller", "")])
def test_create_key_rejects_bad_input(engine: Engine, role: str, staff: str) -> None:
    with Session(engine) as session, pytest.raises(ValueError):
        create_key(session, role=role, staff_id=staff)


def test_cache_serves_revoked_key_until_ttl_then_forgets(engine: Engine) -> None:
    now = [1000.0]
    authenticator = KeyAuthenticator(engine, ttl_seconds=30, clock=lambda: now[0])
    with Session(engine) as session:
        key = create_key(session, role="teller", staff_id="S1")
    first = authenticator(key)
    assert isinstance(first, Principal)
    with Session(engine) as session:
        revoke_key(session, first.key_id)
    now[0] += 29
    assert authenticator(key) == first  # cached: the store is not asked
    now[0] += 2
    assert authenticator(key) is None


def test_cli_keys_create_prints_only_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["keys", "create", "--role", "compliance", "--staff", "C7"]) == 0
    out = capsys.readouterr().out
    key = out.strip()
    assert out.count("\n") == 1 and key.startswith("rk_")
    engine = make_engine(url)
    with Session(engine) as session:
        principal = authenticate(session, key)
    engine.dispose()
    assert principal is not None and principal.role == "compliance"
    assert main(["keys", "revoke", principal.key_id]) == 0
    assert main(["keys", "revoke", principal.key_id]) == 2
