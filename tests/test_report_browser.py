"""The html report in a real headless browser: it renders, and the chart shows.

Chromium takes a screenshot of the cohort report of the small cohort (tests/cohort.py) and of
the same page with the chart's SVG removed. The chart's boxes are the only saturated colour near
the top of the page (text is dark grey, the weak rows' red is in the tables further down), so
the chart area must hold many saturated pixels, and the chart-less control almost none. Theme
10's box spans the middle half of its two scores (0.2000 and 0.6666, interpolated: 0.3167 to
0.5500), so its blue is about 0.2333 of the 560 px axis wide: a spread, not a mean bar. The
PNG is decoded with the standard library (zlib) and numpy; no imaging package needed.
Skipped, with the reason shown, when no Chromium is installed.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from pipeline import RunOptions, init_database, recompute
from pipeline.reports.data import weak_themes
from pipeline.reports.render import render
from tests.cohort import AS_OF, load_small_cohort

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH, HEIGHT = 1000, 700
CHART_AREA = (slice(0, 320), slice(0, 700))  # rows, columns: the figure sits under the heading
BAR_BLUE = np.array([76, 120, 168])  # Vega's first category colour, #4c78a8

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium not installed (apt-get install chromium)"
)


def screenshot(page: Path, target: Path) -> np.ndarray:
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--hide-scrollbars",
            f"--window-size={WIDTH},{HEIGHT}",
            f"--screenshot={target}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    return read_png(target.read_bytes())


def read_png(data: bytes) -> np.ndarray:
    """8-bit RGB/RGBA non-interlaced PNG -> (height, width, 3) uint8 array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, bytearray(), b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace) == (8, 0), (depth, interlace)
    assert color in (2, 6), color
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(bytes(idat))
    stride = width * bpp
    out = np.zeros((height, stride), dtype=np.uint8)
    prior = np.zeros(stride, dtype=np.int64)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int64)
        if kind == 0:
            row = line
        elif kind == 1:  # Sub: running sum per channel
            row = np.cumsum(line.reshape(width, bpp), axis=0).reshape(stride) % 256
        elif kind == 2:  # Up
            row = (line + prior) % 256
        else:
            row = _unfilter_slow(kind, line.tolist(), prior.tolist(), bpp)
        out[y] = row
        prior = row.astype(np.int64)
    return out.reshape(height, width, bpp)[:, :, :3]


def _unfilter_slow(kind: int, line: list[int], prior: list[int], bpp: int) -> np.ndarray:
    """Average (3) and Paeth (4) depend on the pixel just reconstructed: a plain loop."""
    row = [0] * len(line)
    for i, value in enumerate(line):
        left = row[i - bpp] if i >= bpp else 0
        up = prior[i]
        if kind == 3:
            row[i] = (value + (left + up) // 2) % 256
            continue
        corner = prior[i - bpp] if i >= bpp else 0
        p = left + up - corner
        pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
        pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
        row[i] = (value + pred) % 256
    return np.array(row, dtype=np.int64)


def saturated(pixels: np.ndarray) -> int:
    area = pixels[CHART_AREA].astype(np.int64)
    return int(((area.max(axis=2) - area.min(axis=2)) > 60).sum())


def bar_coloured(pixels: np.ndarray) -> int:
    area = pixels[CHART_AREA].astype(np.int64)
    return int((np.abs(area - BAR_BLUE).max(axis=2) <= 12).sum())


@pytest.fixture(scope="module")
def cohort_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("browser")
    url = f"duckdb:///{folder / 'small.duckdb'}"
    init_database(url)
    load_small_cohort(url)
    recompute(url, options=RunOptions(trigger="test"), as_of=AS_OF)
    page = folder / "cohort.html"
    page.write_text(render(weak_themes(url), "html"), encoding="utf-8")
    return page


@needs_chromium
@pytest.mark.integration
def test_chart_is_drawn_in_a_real_browser(cohort_page: Path, tmp_path: Path) -> None:
    shot = screenshot(cohort_page, tmp_path / "with_chart.png")
    assert shot.shape == (HEIGHT, WIDTH, 3)
    control_page = tmp_path / "no_chart.html"
    without_chart = re.sub(r"<svg.*?</svg>", "", cohort_page.read_text(), flags=re.S)
    control_page.write_text(without_chart, encoding="utf-8")
    control = screenshot(control_page, tmp_path / "no_chart.png")
    # theme 10's box: 0.2333 of a 560 px axis, 18 px high: about 2,300 pixels
    assert bar_coloured(shot) > 1_500
    assert saturated(shot) > 1_500
    assert saturated(control) < 50
    blue = np.abs(shot[CHART_AREA].astype(np.int64) - BAR_BLUE).max(axis=2) <= 12
    widest = blue[int(blue.sum(axis=1).argmax())]  # a row through the box (not the legend)
    columns = np.flatnonzero(widest)
    assert 0.2333 * 560 - 6 <= columns.max() - columns.min() + 1 <= 0.2333 * 560 + 6


def test_chart_title_names_the_date(cohort_page: Path) -> None:
    page = cohort_page.read_text()
    assert "Mastery spread per theme, as of 2026-11-25" in page


def test_png_reader_round_trips_every_filter() -> None:
    """The decoder against rows filtered by hand with each of the five PNG filters."""
    width, bpp = 3, 3
    rows = ([[10, 20, 30, 200, 100, 50, 255, 0, 7], [1, 2, 3, 250, 120, 60, 0, 255, 9]] * 3)[:5]
    encoded, prior = bytearray(), [0] * (width * bpp)
    for kind, row in enumerate(rows):
        encoded.append(kind)
        for i, value in enumerate(row):
            left = row[i - bpp] if i >= bpp else 0
            corner = prior[i - bpp] if i >= bpp else 0
            up = prior[i]
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            paeth = left if pa <= pb and pa <= pc else up if pb <= pc else corner
            pred = [0, left, up, (left + up) // 2, paeth][kind]
            encoded.append((value - pred) % 256)
        prior = row
    header = struct.pack(">IIBBBBB", width, len(rows), 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + b"\0\0\0\0"

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(encoded)))
        + chunk(b"IEND", b"")
    )
    assert read_png(png).reshape(len(rows), -1).tolist() == rows
