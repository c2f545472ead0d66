"""What to generate: ``CohortSpec`` and the fixed tuning knobs that shape every cohort.

The spec holds only what a caller chooses (size, window, seed, ``as_of``, defects on or off) and
is validated once, so later stages can trust it. The knobs are module constants rather than spec
fields because changing one changes every cohort's data; they sit together so they are tuned in
one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from pipeline.contracts.errors import MasteryError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = 1_000_000
HOUR = 3_600 * US
DAY = 24 * HOUR

# --- shape of the cohort (documented tuning knobs) ------------------------------------------------
SESSIONS_PER_ACTIVE_DAY = 1 / 7  # mean session rate of a student over their active span
EXAM_SHARE = 0.30
EXAM_SIZES = np.array([20, 30, 40])
EXAM_SIZE_P = np.array([0.3, 0.4, 0.3])
TUTOR_MIN_Q, TUTOR_MAX_Q = 10, 40
QUESTIONS_PER_THEME = (20, 40)
OPTIONS = 4
PERMUTATIONS_PER_POOL = 4
ABILITY_MEAN, ABILITY_SD = 0.85, 1.1
USER_THEME_SCALE = 0.35  # logistic scale of the student-by-theme effect (sd ~ 0.63)
LEARNING_GAIN = 0.5  # logit gain from the start to the end of the window
LABEL_EFFECT = np.array([-1.0, 0.0, 1.0])  # easy, medium, hard
LABELS = ("easy", "medium", "hard")
LABEL_P = np.array([0.30, 0.45, 0.25])

# --- data-quality defects (dirty=True) ----------------------------------------------------------
P_SNAPSHOT_ONLY = 0.035  # question_version_id null, snapshot present
P_VERSION_ONLY = 0.030  # snapshot null, question_version_id present
P_NO_TAGS = 0.0005  # both null
P_SNAPSHOT_ODD_VALID = 0.015  # "12", 12.0, string year/block
P_SNAPSHOT_MALFORMED = 0.006
P_SKIPPED = 0.003  # selected_index and is_correct null
P_UNGRADED = 0.0005  # is_correct null only
P_NULL_ANSWERED_AT = 0.002
P_SKEW = 0.01  # of answers in sessions submitted in the last 12 h before as_of
P_STALE_ACTIVE = 0.003  # sessions never submitted nor expired
P_VERSION_NULL_THEME = 0.02
P_VERSION_NULL_BLOCK = 0.01
P_VERSION_NULL_YEAR = 0.01
P_LIVE_RETAG = 0.05

# difficulty rendering styles (see snapshots.difficulty_text): canonical, Capitalized,
# " Capitalized", "UPPER ", "lower ", UPPER, null, unknown label
N_STYLES = 8
VERSION_STYLE_P = np.array([0.82, 0.04, 0.03, 0.03, 0.02, 0.02, 0.035, 0.005])
SNAPSHOT_STYLE_P = np.array([0.85, 0.04, 0.03, 0.03, 0.02, 0.02, 0.01, 0.0])


@dataclass(frozen=True)
class CohortSpec:
    """What to generate. Same spec (including ``as_of``) => identical frames.

    ``users``: all users (a few of them ADMIN/REVIEWER without sessions); ``themes``: rows of
    ``themes``; ``days``: the activity window ending at ``as_of``; ``as_of``: the instant the
    cohort is "now" (default: the current time, truncated to the second; naive means UTC);
    ``dirty``: include the data-quality defects (malformed snapshots, nulls, clock skew, ...).
    """

    users: int
    themes: int = 60
    days: int = 90
    seed: int = 0
    as_of: datetime | None = None
    dirty: bool = True

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.users, int) or self.users < 0:
            problems.append(f"users must be an integer >= 0 (got {self.users!r})")
        if not isinstance(self.themes, int) or not 1 <= self.themes <= 60_000:
            problems.append(f"themes must be an integer in 1..60000 (got {self.themes!r})")
        if not isinstance(self.days, int) or not 1 <= self.days <= 3_650:
            problems.append(f"days must be an integer in 1..3650 (got {self.days!r})")
        if not isinstance(self.seed, int):
            problems.append(f"seed must be an integer (got {self.seed!r})")
        if problems:
            raise MasteryError("invalid cohort spec: " + "; ".join(problems))
        as_of = self.as_of
        if as_of is None:
            as_of = datetime.now(UTC).replace(microsecond=0)
        elif as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=UTC)
        else:
            as_of = as_of.astimezone(UTC)
        object.__setattr__(self, "as_of", as_of)

    @property
    def as_of_us(self) -> int:
        assert self.as_of is not None  # set in __post_init__
        return (self.as_of - _EPOCH) // timedelta(microseconds=1)
