"""The algorithm registry (``algo_versions``, ``algo_params``): what init seeds, which params are
active, and activation, the same on every store.

Every version of 'mastery' (v0, v1) is seeded beside the others, each with a params row; exactly
one params row is active across them all, so the active row says both the algorithm and its
params, and switching algorithm is one activation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.contracts.errors import MasteryError
from pipeline.contracts.params import Params, default_params
from pipeline.contracts.params_v1 import ParamsV1, default_params_v1

if TYPE_CHECKING:
    from pipeline.io.store.base import Store

ALGO_KEY = "mastery"
ALGO_VERSION = "v0"
ALGO_DESCRIPTIONS = {
    "v0": "Mastery v0: recency-weighted bucketed accuracy (SPEC §4)",
    "v1": "Mastery v1: explainable estimate from counts against other students (issue 16)",
}
"""Every version of 'mastery' that init seeds; exactly one has an active params row."""
AnyParams = Params | ParamsV1


@dataclass(frozen=True)
class ActiveParams:
    params_id: str
    algo_version_id: str
    params: Params | ParamsV1
    checksum: str
    algorithm: str = ALGO_VERSION


def params_of(version: str, text: str) -> AnyParams:
    """A stored params row's JSON, validated as its version's params."""
    return ParamsV1.from_json(text) if version == "v1" else Params.from_json(text)


def algorithm_of(params: AnyParams) -> str:
    return "v1" if isinstance(params, ParamsV1) else "v0"


def seed(store: Store) -> tuple[str, str]:
    """Seed every version and its default params (v0's active when no row is); the active
    params row's id and checksum. Inside init's transaction."""
    for version, description in ALGO_DESCRIPTIONS.items():
        store.execute(
            "seed_algo_version",
            {
                "id": str(uuid.uuid4()),
                "algo_key": ALGO_KEY,
                "version": version,
                "description": description,
            },
        )
    active = _active_rows(store)
    if active:
        params_id, checksum = active[0][0], active[0][2]
    else:
        params = default_params()
        params_id = insert_params(store, algo_version_id(store), params, is_active=True)
        checksum = params.checksum()
    v1_id = algo_version_id(store, "v1")
    if store.fetch_one("select_version_params", {"algo_version_id": v1_id}) is None:
        insert_params(store, v1_id, default_params_v1(), is_active=False)
    return params_id, checksum


def algo_version_id(store: Store, version: str = ALGO_VERSION) -> str:
    row = store.fetch_one("select_algo_version", {"algo_key": ALGO_KEY, "version": version})
    if row is None:
        raise MasteryError(
            f"{store.url} has no algo_versions row for {version}: run `mastery init` first"
        )
    return str(row[0])


def active_params(store: Store) -> ActiveParams:
    """The one active params row of 'mastery', whichever version it belongs to."""
    algo_version_id(store)  # "run mastery init first" before "no active row"
    rows = _active_rows(store)
    if not rows:
        raise MasteryError("no active algo_params row: run `mastery params activate FILE`")
    if len(rows) > 1:
        versions = ", ".join(str(row[4]) for row in rows)
        raise MasteryError(
            f"more than one active algo_params row ({versions}): "
            "run `mastery params activate FILE --algo VERSION`"
        )
    params_id, text, checksum, version_id, version = rows[0]
    return ActiveParams(params_id, version_id, params_of(version, text), checksum, version)


def version_params(store: Store, version: str) -> ActiveParams:
    """The params of ``version``: its active row, else its newest (init seeds v1's)."""
    version_id = algo_version_id(store, version)
    row = store.fetch_one("select_version_params", {"algo_version_id": version_id})
    if row is None:
        raise MasteryError(f"no algo_params row for {version}: run `mastery init` first")
    return ActiveParams(row[0], version_id, params_of(version, row[1]), row[2], version)


def activate_params(store: Store, params: AnyParams, version: str | None = None) -> str:
    """Make ``params`` (of ``version``, by default the one its type says) the one active row
    of every version of 'mastery' (reusing an identical row), returning its id."""
    version = version or algorithm_of(params)
    if algorithm_of(params) != version:
        raise MasteryError(f"these params are {algorithm_of(params)}'s, not {version}'s")
    version_id = algo_version_id(store, version)
    with store.transaction():
        store.execute("deactivate_algo_params", {"algo_key": ALGO_KEY})
        found = store.fetch_one(
            "select_params_by_checksum",
            {"algo_version_id": version_id, "checksum": params.checksum()},
        )
        if found is None:
            return insert_params(store, version_id, params, is_active=True)
        store.execute("activate_params", {"id": found[0]})
        return str(found[0])


def _active_rows(store: Store) -> list[tuple]:
    return store.fetch_all("select_active_algo_params", {"algo_key": ALGO_KEY})


def insert_params(store: Store, version_id: str, params: AnyParams, *, is_active: bool) -> str:
    params_id = str(uuid.uuid4())
    store.execute(
        "insert_params",
        {
            "id": params_id,
            "algo_version_id": version_id,
            "params_json": params.canonical_json(),
            "checksum": params.checksum(),
            "is_active": is_active,
        },
    )
    return params_id
