"""The failing sample report as a real browser renders it: Debian's headless Chromium, screenshot and DOM.

Needs the ``chromium`` Debian package (installed by .ci/run). Without it the test fails on CI (``CI`` set)
and is skipped elsewhere.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from fixtures.report_samples import failing_report

from mlgate.checks.report import render_html
from mlgate.checks.report._common import STATUS_COLORS
from mlgate.checks.result import Status

pytestmark = pytest.mark.browser

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed; CI must install the Debian package 'chromium'")
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


def _run(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Path]:
    chromium = _chromium()
    folder = tmp_path_factory.mktemp("browser")
    html = folder / "report.html"
    html.write_text(render_html(failing_report()), encoding="utf-8")
    return chromium, folder, html


def _hex_rgb(color: str) -> np.ndarray:
    return np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)])


def test_screenshot_shows_the_failed_banner(page: tuple[str, Path, Path]) -> None:
    chromium, folder, html = page
    png = folder / "report.png"
    done = _run(chromium, folder / "profile-shot", f"--screenshot={png}", "--window-size=1280,2400", html.as_uri())
    assert png.exists(), f"chromium wrote no screenshot (exit {done.returncode}): {done.stderr[-2000:]}"
    from matplotlib.image import imread

    pixels = (imread(png)[..., :3] * 255).round().astype(int)
    assert pixels.shape[:2] == (2400, 1280)
    assert pixels.std() > 20, "the screenshot is blank"
    fail = np.all(np.abs(pixels - _hex_rgb(STATUS_COLORS[Status.FAIL])) <= 2, axis=-1)
    assert fail[:80].mean() > 0.5, "the top of the page is not the FAIL banner colour"
    assert fail[200:].sum() > 2_000, "no FAIL colour below the banner (chips, cards, plots)"
    passing = np.all(np.abs(pixels - _hex_rgb(STATUS_COLORS[Status.PASS])) <= 2, axis=-1)
    assert passing.sum() > 500, "no PASS colour anywhere (layer cards, bars)"


def test_dom_has_the_plots_and_every_check(page: tuple[str, Path, Path]) -> None:
    chromium, folder, html = page
    done = _run(chromium, folder / "profile-dom", "--dump-dom", html.as_uri())
    dom = done.stdout
    assert "<main>" in dom, f"no DOM dumped (exit {done.returncode}): {done.stderr[-2000:]}"
    svgs = re.findall(r'<svg[^>]*aria-label="([^"]+)"', dom)
    assert svgs == [
        "Drift effect size per feature",
        "Reference vs current distributions",
        "Group shares vs reference",
        "Metrics per slice",
        "Confusion matrix",
    ]
    assert dom.count("<path") > 50 and dom.count("<text") > 50  # the plots have content, not empty frames
    for result in failing_report().results:
        assert f"<code>{result.id}</code>" in dom
    assert 'class="banner fail"' in dom
