"""The emulated organisation: which accounts the user sees and which roles
(permission sets) they hold in each.

Two shapes share one small interface: an explicit list of accounts, and a
generated organisation that computes account N on demand (10,000 accounts cost
nothing but an integer)."""

from __future__ import annotations

from typing import Any

from .config import ROLE_NAMES

GENERATED_ID_BASE = 100000000000


def role_names(count: int) -> tuple[str, ...]:
    """The first `count` roles of a generated account."""
    if count <= len(ROLE_NAMES):
        return ROLE_NAMES[:count]
    extra = tuple(f"CustomRole{i:03d}" for i in range(count - len(ROLE_NAMES)))
    return ROLE_NAMES + extra


class Organisation:
    """Interface: len(), account(i) for 0 <= i < len, roles(account_id)."""

    def __len__(self) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    def account(self, index: int) -> dict[str, str]:  # pragma: no cover - interface
        raise NotImplementedError

    def roles(self, account_id: str) -> tuple[str, ...] | None:  # pragma: no cover
        """Role names assigned in that account, or None if the account is not
        part of the organisation."""
        raise NotImplementedError


class ExplicitOrganisation(Organisation):
    def __init__(self, accounts: list[dict[str, Any]]) -> None:
        # Compact: one tuple per account, roles as tuples.
        self._accounts = [
            (a["accountId"], a["accountName"], a["emailAddress"], tuple(a["roles"])) for a in accounts
        ]
        self._index = {a[0]: i for i, a in enumerate(self._accounts)}

    def __len__(self) -> int:
        return len(self._accounts)

    def account(self, index: int) -> dict[str, str]:
        account_id, name, email, _ = self._accounts[index]
        return {"accountId": account_id, "accountName": name, "emailAddress": email}

    def roles(self, account_id: str) -> tuple[str, ...] | None:
        i = self._index.get(account_id)
        return None if i is None else self._accounts[i][3]


class GeneratedOrganisation(Organisation):
    """Account i: id 100000000000+i, name account-00042, email
    account-00042@example.com, roles the first `roles_per_account` of ROLE_NAMES."""

    def __init__(self, count: int, roles_per_account: int) -> None:
        self._count = count
        self._roles = role_names(roles_per_account)
        self._width = max(5, len(str(count - 1)) if count else 5)

    def __len__(self) -> int:
        return self._count

    def account(self, index: int) -> dict[str, str]:
        if not 0 <= index < self._count:
            raise IndexError(index)
        name = f"account-{index:0{self._width}d}"
        return {
            "accountId": str(GENERATED_ID_BASE + index),
            "accountName": name,
            "emailAddress": f"{name}@example.com",
        }

    def roles(self, account_id: str) -> tuple[str, ...] | None:
        if not (isinstance(account_id, str) and len(account_id) == 12
                and account_id.isascii() and account_id.isdigit()):
            return None
        index = int(account_id) - GENERATED_ID_BASE
        if not 0 <= index < self._count:
            return None
        return self._roles


def build_organisation(
    accounts: list[dict[str, Any]], generate_accounts: int, roles_per_account: int
) -> Organisation:
    if generate_accounts > 0:
        return GeneratedOrganisation(generate_accounts, roles_per_account)
    return ExplicitOrganisation(accounts)
