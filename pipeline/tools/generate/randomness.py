"""Counter-based randomness and uuid7 keys, so per-row draws never depend on chunking.

Per-row randomness in the big tables is a hash (splitmix64) of ``(seed, stream, global row
number)`` rather than a sequential generator: the same spec yields identical frames for any
``chunk_rows``. Every id is a uuid7 key whose 48-bit millisecond prefix comes from the row's own
event time; rows are emitted in time order, so primary keys arrive almost sorted and B-tree
inserts stay at the right edge of the index (PERFORMANCE-NOTES: time-ordered keys load much faster
than uuid4).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from pipeline.tools.generate.tables import arrow_series

# hash streams (any distinct constants)
S_UUID_USER, S_UUID_QUESTION, S_UUID_VERSION, S_UUID_SESSION = 11, 12, 13, 14
S_UUID_SQ, S_UUID_SA = 15, 16
S_BURST_DAY, S_BURST_HOUR = 21, 22
S_ROW, S_WEIGHT, S_CORRECT, S_WRONG, S_USER_THEME = 31, 32, 33, 34, 35

M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MIX1, _MIX2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def _mix_int(x: int) -> int:
    x &= M64
    x ^= x >> 30
    x = (x * _MIX1) & M64
    x ^= x >> 27
    x = (x * _MIX2) & M64
    return x ^ (x >> 31)


def hash64(seed: int, stream: int, keys: np.ndarray) -> np.ndarray:
    """splitmix64 of ``(seed, stream, key)``: 64 well-mixed bits per key, vectorized."""
    salt = _mix_int(_mix_int(seed * _GOLDEN + 0x5851F42D4C957F2D) ^ (stream * _GOLDEN))
    x = keys.astype(np.uint64)
    x *= np.uint64(_GOLDEN)
    x += np.uint64(salt)
    x ^= x >> np.uint64(30)
    x *= np.uint64(_MIX1)
    x ^= x >> np.uint64(27)
    x *= np.uint64(_MIX2)
    x ^= x >> np.uint64(31)
    return x


def unit(bits: np.ndarray) -> np.ndarray:
    """Uniform floats in the open interval (0, 1) from 64 random bits."""
    return ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / (1 << 53))


def u16(bits: np.ndarray, slot: int) -> np.ndarray:
    """Uniform floats in [0, 1) with 16-bit resolution from bits ``16*slot .. 16*slot+15``."""
    return ((bits >> np.uint64(16 * slot)) & np.uint64(0xFFFF)).astype(np.float64) / 65536.0


_HEX_PAIRS = np.array(
    [ord(f"{b:02x}"[0]) | (ord(f"{b:02x}"[1]) << 8) for b in range(256)], dtype="<u2"
)
# One canonical uuid text (36 bytes) as fields that take whole 4/8-byte words of hex digits.
_UUID_TEXT = np.dtype(
    {
        "names": ["h0", "d0", "h1", "d1", "h2", "d2", "h3", "d3", "h4", "h5"],
        "formats": ["u8", "u1", "u4", "u1", "u4", "u1", "u4", "u1", "u4", "u8"],
        "offsets": [0, 8, 9, 13, 14, 18, 19, 23, 24, 28],
        "itemsize": 36,
    }
)


def uuid7(seed: int, stream: int, keys: np.ndarray, time_us: np.ndarray) -> pl.Series:
    """Canonical uuid7 strings (RFC 9562): 48-bit Unix ms of ``time_us``, 12 bits of sub-ms
    precision (method 3), 62 random bits hashed from ``(seed, stream, keys)``."""
    n = len(keys)
    time_us = time_us.astype(np.int64)
    ms = (time_us // 1_000).astype(np.uint64) & np.uint64((1 << 48) - 1)
    sub_ms = ((time_us % 1_000) * 4_096 // 1_000).astype(np.uint64)
    raw = np.empty((n, 2), dtype=">u8")
    raw[:, 0] = (ms << np.uint64(16)) | np.uint64(0x7000) | sub_ms
    rand = hash64(seed, stream, keys)
    rand &= np.uint64((1 << 62) - 1)
    rand |= np.uint64(1 << 63)
    raw[:, 1] = rand
    hexed = _HEX_PAIRS[raw.view(np.uint8).reshape(n, 16)]  # (n, 16) pairs of hex digits
    words8, words4 = hexed.view(np.uint64), hexed.view(np.uint32)
    text = np.empty(n, dtype=_UUID_TEXT)
    text["h0"] = words8[:, 0]  # digits 0-7
    text["h1"] = words4[:, 2]  # 8-11
    text["h2"] = words4[:, 3]  # 12-15
    text["h3"] = words4[:, 4]  # 16-19
    text["h4"] = words4[:, 5]  # 20-23
    text["h5"] = words8[:, 3]  # 24-31
    for dash in ("d0", "d1", "d2", "d3"):
        text[dash] = ord("-")
    offsets = np.arange(0, 36 * (n + 1), 36, dtype=np.int64)
    array = pa.Array.from_buffers(
        pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(text.view(np.uint8))]
    )
    return arrow_series(array, pl.String)
