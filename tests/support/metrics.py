"""Scrape a server's ``/metrics`` and read it with the Prometheus client's own parser."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

SAMPLE_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
}
"""The sample names each family type exposes (without ``_created``: switched off)."""


@dataclass(frozen=True)
class Scrape:
    text: str
    families: dict[str, Metric]

    def value(self, name: str, **labels: str) -> float | None:
        """The sample ``name`` whose labels include ``labels`` (None when there is none)."""
        for family in self.families.values():
            for sample in family.samples:
                if sample.name == name and labels.items() <= sample.labels.items():
                    return float(sample.value)
        return None

    def names_of(self, family: str) -> set[str]:
        """The sample names ``family`` can carry, samples present or not."""
        found = self.families[family]
        return {found.name + suffix for suffix in SAMPLE_SUFFIXES.get(found.type, ("",))}

    def sample_names(self) -> set[str]:
        return {name for family in self.families for name in self.names_of(family)}


async def scrape(
    http: aiohttp.ClientSession, base_url: str, headers: dict[str, str] | None = None
) -> Scrape:
    async with http.get(base_url + "/metrics", headers=headers or {}) as resp:
        text = await resp.text()
        assert resp.status == 200, (resp.status, text)
        assert resp.content_type == "text/plain"
    families = {f.name: f for f in text_string_to_metric_families(text)}
    return Scrape(text, families)
