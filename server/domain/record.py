"""What the store's records share: built from a row by column name, shown as a dict with one
key per field in declaration order (the row's shape, which the REST API serialises)."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


class Row(Protocol):
    """A row by column name: a ``sqlite3.Row`` or a dict."""

    def __getitem__(self, key: str, /) -> Any: ...


def from_columns(cls: type[R], row: Row) -> R:
    """A record whose every field is the row's column of the same name."""
    return cls(**{f.name: row[f.name] for f in fields(cls)})


def columns(record: DataclassInstance) -> dict[str, Any]:
    """The record's fields by name, in declaration order (values as they are, not copied)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}
