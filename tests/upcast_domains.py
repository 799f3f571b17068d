"""Two small domains whose one event is at version 2.0, with an upcaster from 1.0, written
into a domains folder by the upcast tests (export, copy). The combat sample is not used:
its events evolve on their own.

- ``bank``: ``Deposited`` 2.0 adds ``currency``; the upcaster fills in ``"EUR"``, a pure
  function of the 1.0 data (faithful).
- ``till``: ``Sale`` 2.0 adds ``receipt``; its upcaster makes one up (``uuid4``), so each
  read of a 1.0 sale gives another receipt: a real author's mistake (an upcaster must be a
  pure function of the stored data), which ``copy --upcast`` must catch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from escli.stores.base import NewEvent

BANK = """
from dataclasses import dataclass, field
from typing import Any

from escli import AggregateState, Domain

domain = Domain("bank", source="test://bank", stream_field="account")


@domain.command
@dataclass(frozen=True)
class Deposit:
    account: str
    amount: int


@domain.event(version="2.0")
@dataclass(frozen=True)
class Deposited:
    account: str
    amount: int
    currency: str


@domain.upcaster("Deposited", "1.0", to="2.0")
def add_currency(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "currency": "EUR"}


@dataclass(frozen=True)
class Last:
    amount: int = 0
    currency: str = ""


@dataclass(frozen=True)
class Account(AggregateState):
    balance: int = 0
    last: Last = field(default_factory=Last)


@domain.aggregate
class Bank:
    def initial_state(self, stream_id: str) -> Account:
        return Account()

    def handle_command(self, state: Account, command: Deposit) -> list[Any]:
        return [Deposited(command.account, command.amount, "EUR")]

    def apply_event(self, state: Account, event: Deposited) -> Account:
        return state.evolve(
            balance=state.balance + event.amount, last=Last(event.amount, event.currency)
        )
"""

TILL = """
import uuid
from dataclasses import dataclass, field
from typing import Any

from escli import AggregateState, Domain

domain = Domain("till", source="test://till", stream_field="till")


@domain.command
@dataclass(frozen=True)
class Sell:
    till: str
    amount: int


@domain.event(version="2.0")
@dataclass(frozen=True)
class Sale:
    till: str
    amount: int
    receipt: str


@domain.upcaster("Sale", "1.0", to="2.0")
def add_receipt(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "receipt": uuid.uuid4().hex}  # not pure: another receipt each read


@dataclass(frozen=True)
class Last:
    amount: int = 0
    receipt: str = ""


@dataclass(frozen=True)
class Till(AggregateState):
    total: int = 0
    last: Last = field(default_factory=Last)


@domain.aggregate
class Tills:
    def initial_state(self, stream_id: str) -> Till:
        return Till()

    def handle_command(self, state: Till, command: Sell) -> list[Any]:
        return [Sale(command.till, command.amount, "r")]

    def apply_event(self, state: Till, event: Sale) -> Till:
        return state.evolve(
            total=state.total + event.amount, last=Last(event.amount, event.receipt)
        )
"""

TIMES = ("2024-01-01T10:00:00Z", "2024-01-01T10:00:01Z", "2024-01-01T10:00:02Z")


def write_domains(folder: Path) -> Path:
    """``folder`` with ``bank.py`` and ``till.py`` in it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bank.py").write_text(BANK)
    (folder / "till.py").write_text(TILL)
    return folder


def deposit_v1(account: str, amount: int, n: int) -> NewEvent:
    """A ``Deposited`` as a 1.0 writer stored it (no currency), with a fixed id and time."""
    data: dict[str, Any] = {"account": account, "amount": amount}
    return NewEvent("bank.Deposited", "1.0", "test://bank", data, f"{account}-{n}", TIMES[n])


def deposit_v2(account: str, amount: int, n: int) -> NewEvent:
    data: dict[str, Any] = {"account": account, "amount": amount, "currency": "USD"}
    return NewEvent("bank.Deposited", "2.0", "test://bank", data, f"{account}-{n}", TIMES[n])


def sale_v1(till: str, amount: int, n: int) -> NewEvent:
    data: dict[str, Any] = {"till": till, "amount": amount}
    return NewEvent("till.Sale", "1.0", "test://till", data, f"{till}-{n}", TIMES[n])
