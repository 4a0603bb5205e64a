"""What a Monte Carlo job runs, its fingerprints, and when a store may be resumed.

A store's ``job.json`` pins two things:

identity
    the scenario document with its ``--set``/``--without`` changes and the root seed.
    Runs of another identity are another experiment: they are never mixed into a store.
model
    the iamd version, the scenario as resolved (defaults filled in) and the equipment
    catalog it resolves against (bundled figures plus the scenario's overrides). The same
    scenario file run by another iamd, or against an edited catalog, may give other
    results: resuming then is refused unless the user accepts it knowingly
    (``--allow-model-change``); every batch records the iamd version and model
    fingerprint that made it, so a mixed store can always be told apart.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from iamd import __version__
from iamd.analysis.store import JOB_FILE, StoreError
from iamd.scenario.load import Scenario

IDENTITY_KEYS = ("scenario", "scenario_sha256", "seed")
"""Fields of ``job.json`` that must match for a directory to be resumed."""
MODEL_KEYS = ("iamd_version", "resolved_sha256", "catalog_sha256")
"""Fields of ``job.json`` that may differ only with ``allow_model_change``."""
ALLOW_FLAG = "--allow-model-change"


def sha256_of(data: Any) -> str:
    """SHA-256 of ``data`` as canonical JSON (sorted keys)."""
    text = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def catalog_classes(scenario: Scenario) -> dict[str, str]:
    """Fingerprint of every catalog class, ``{"section.name": sha256}``."""
    dump = scenario.catalog.model_dump(mode="json")
    return {
        f"{section}.{name}": sha256_of(entry)
        for section, entries in sorted(dump.items())
        for name, entry in sorted(entries.items())
    }


@dataclass(frozen=True, slots=True)
class Job:
    """What a Monte Carlo job runs.

    Attributes
    ----------
    scenario : the validated scenario, with changes applied.
    document : the changed scenario document that was validated (its fingerprint).
    seed : the root seed.
    sets, without : the ``--set`` and ``--without`` changes, as typed.
    """

    scenario: Scenario
    document: Any
    seed: int
    sets: tuple[str, ...] = ()
    without: tuple[str, ...] = ()

    def record(self) -> dict[str, Any]:
        """The ``job.json`` of a store."""
        classes = catalog_classes(self.scenario)
        model = {
            "iamd_version": __version__,
            "resolved_sha256": sha256_of(self.scenario.spec.model_dump(mode="json")),
            "catalog_sha256": sha256_of(classes),
        }
        return {
            "scenario": self.scenario.name,
            "source": self.scenario.source,
            "scenario_sha256": sha256_of(self.document),
            "seed": self.seed,
            "set": list(self.sets),
            "without": list(self.without),
            **model,
            "model_sha256": sha256_of(model),
            "catalog_classes": classes,
        }

    def provenance(self) -> dict[str, str]:
        """The text columns stored with every batch of this job."""
        rec = self.record()
        return {"iamd_version": rec["iamd_version"], "model_sha256": rec["model_sha256"]}


def _catalog_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    before, after = old.get("catalog_classes") or {}, new["catalog_classes"]
    changed = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])
    added, removed = sorted(after.keys() - before.keys()), sorted(before.keys() - after.keys())
    parts = [
        f"{word} {', '.join(names)}"
        for word, names in (("changed", changed), ("added", added), ("removed", removed))
        if names
    ]
    return "the equipment catalog (" + ("; ".join(parts) or "its figures") + ")"


def model_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed in the model between a stored ``job.json`` and this job, in words."""
    if any(k not in old for k in MODEL_KEYS):
        return [
            f"the stored {JOB_FILE} predates catalog and version fingerprints (an older iamd), "
            "so a change since cannot be ruled out"
        ]
    out = []
    if old["iamd_version"] != new["iamd_version"]:
        out.append(f"the iamd version (stored {old['iamd_version']}, now {new['iamd_version']})")
    if old["catalog_sha256"] != new["catalog_sha256"]:
        out.append(_catalog_change(old, new))
    if old["resolved_sha256"] != new["resolved_sha256"]:
        out.append("the resolved scenario (the same file, but other defaults filled in)")
    return out


def check_identity(root: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Refuse to resume a store of another scenario, changes or seed.

    Raises
    ------
    StoreError
        Saying which differs.
    """
    diff = [k for k in IDENTITY_KEYS if old.get(k) != new.get(k)]
    if not diff:
        return
    what = ", ".join(
        f"{k}: stored {old.get(k)!r}, now {new.get(k)!r}"
        if k != "scenario_sha256"
        else "the scenario (with its --set/--without changes) differs"
        for k in diff
    )
    raise StoreError(
        f"{root} holds a different job ({what}); "
        "resume with the same scenario, changes and seed, or use a new --out"
    )


def resumed_record(
    root: str, old: dict[str, Any], new: dict[str, Any], allow_model_change: bool
) -> tuple[dict[str, Any] | None, list[str]]:
    """The ``job.json`` to write when resuming ``old`` with ``new``, and the changes accepted.

    Returns ``(None, [])`` when nothing changed (``job.json`` stays as it is). After an
    accepted change the record holds the new fingerprints, and ``history`` keeps the old
    ones with the time and what changed.

    Raises
    ------
    StoreError
        When the identity differs, or the model does and ``allow_model_change`` is false.
    """
    check_identity(root, old, new)
    changes = model_changes(old, new)
    if not changes:
        return None, []
    if not allow_model_change:
        raise StoreError(
            f"{root} was run with another model: {'; '.join(changes)}. Its results would "
            f"mix with these silently: use a new --out, or resume with {ALLOW_FLAG} to add "
            "runs of the changed model knowingly (each batch records its iamd version)"
        )
    entry = {
        "accepted_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "changes": changes,
        "before": {k: old.get(k) for k in (*MODEL_KEYS, "model_sha256")},
    }
    return {**new, "history": [*old.get("history", []), entry]}, changes
