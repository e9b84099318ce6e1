"""Admin-group membership is looked up again after a short time: a user added or removed is seen."""

from __future__ import annotations

import pytest

from maied.api import access


def test_membership_is_cached_briefly_then_looked_up_again(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([False, True])
    calls: list[tuple[int, str]] = []

    def lookup(uid: int, group: str) -> bool:
        calls.append((uid, group))
        return next(answers)

    monkeypatch.setattr(access, "_lookup_membership", lookup)
    monkeypatch.setattr(access, "_memberships", {})
    assert access.uid_in_group(1234, "maie-admin", now=100.0) is False
    assert access.uid_in_group(1234, "maie-admin", now=100.0 + access.GROUP_CACHE_SECONDS / 2) is False
    assert len(calls) == 1
    assert access.uid_in_group(1234, "maie-admin", now=100.0 + access.GROUP_CACHE_SECONDS) is True  # added since
    assert len(calls) == 2


def test_an_unknown_group_or_user_is_no_membership() -> None:
    assert access.uid_in_group(2**31 - 7, "no-such-group-maie") is False
