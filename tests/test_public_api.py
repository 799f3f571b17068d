"""The public API: ``escli.__all__`` is one list, every name in it imports, and every error
a caller may catch is in it."""

from __future__ import annotations

import importlib

import escli
import escli.errors


def test_every_public_name_imports_from_its_module() -> None:
    assert escli.__all__ == sorted(escli.__all__)
    assert set(escli.__all__) == set(escli._EXPORTS)
    for name in escli.__all__:
        module = importlib.import_module(escli._EXPORTS[name])
        assert getattr(escli, name) is getattr(module, name)


def test_every_error_of_the_tree_is_public() -> None:
    errors = {
        name
        for name in escli.errors.__all__
        if isinstance(getattr(escli.errors, name), type)
        and issubclass(getattr(escli.errors, name), escli.errors.EscliError)
    }
    assert {"DomainError", "ClientMissing"} <= errors
    assert errors <= set(escli.__all__)
