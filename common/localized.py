"""A text in Simplified Chinese and/or English."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from common.text import zh_or_en


@dataclass(frozen=True, slots=True)
class Localized:
    """A text in zh and/or English; at least one is non-empty."""

    zh: str = ""
    en: str = ""

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("zh", self.zh), ("en", self.en)) if v}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Localized:
        return cls(zh=str(data.get("zh") or ""), en=str(data.get("en") or ""))

    def pick(self, language: str) -> str:
        """The text in ``language`` ("zh"/"zh-CN"/"en"), falling back to the other one."""
        if zh_or_en(language) == "zh":
            return self.zh or self.en
        return self.en or self.zh
