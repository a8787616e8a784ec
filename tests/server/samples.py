"""Reading this process's Prometheus metrics in a test: a sample's value, and how far
samples moved while the test ran (the registry is the process's, shared by every test)."""

from __future__ import annotations

from prometheus_client import REGISTRY


def value(name: str, **labels: str) -> float:
    """A sample's value; 0 for one not there (yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Moved:
    """How far a sample moved since this was made: `moved(name, **labels)`."""

    def __init__(self) -> None:
        self.before = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in REGISTRY.collect()
            for sample in family.samples
            if sample.name.startswith("tillpoint_")
        }

    def __call__(self, name: str, **labels: str) -> float:
        return value(name, **labels) - self.before.get((name, tuple(sorted(labels.items()))), 0.0)
