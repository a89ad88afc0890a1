"""The dashboard (ci/dashboard_app.py) on a real project: a gated run registered the bundled project's champion in
a temporary MLflow store, ``mlgate monitor`` judged two logs of served traffic (clean with feedback, and
credit_amount x1.25), and the retrain journal holds a registered, a running and a rejected retrain.

Streamlit's ``AppTest`` renders every tab with that data (the journal as named columns, newest first, with each
retrain's triggers; the registered retrain as a rule on the drift and quality charts), with an empty project
("nothing yet, run mlgate run", no store created), with a broken config (one error line) and with an unreadable
history; then a real headless Chromium loads ``mlgate dashboard`` served on a free port and the rendered page's
text is read back through the DevTools protocol (Streamlit draws client-side over a websocket: ``--dump-dom`` alone
shows an empty shell).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fixtures.project import MLGATE, WINDOW, cli_env, copy_project, mlgate, monitored_project
from streamlit.testing.v1 import AppTest

from mlgate.ci.dashboard_app import RETRAIN_COLOR, TABS
from mlgate.ci.dashboard_data import NOTHING_JOURNAL, NOTHING_MONITOR, NOTHING_STORE
from mlgate.ci.journal import append_line
from mlgate.pipeline.config import load_config

APP = Path(__file__).resolve().parents[2] / "ci" / "dashboard_app.py"
DRIFT = {"name": "drift", "fired": True, "fires": True, "evidence": "monitor run failed monitor.input_drift[x]",
         "key": "drift:k", "handled_by": None}  # fmt: skip
QUIET = {"name": "stale", "fired": False, "fires": False, "evidence": "champion trained today", "key": "stale:k",
         "handled_by": None}  # fmt: skip


def _retrain_lines(now: datetime) -> list[dict[str, Any]]:
    """r-1 registered v2 a minute after the monitor runs, r-2 started and never finished, r-3 was rejected."""

    def at(minutes: int) -> str:
        return (now + timedelta(minutes=minutes)).isoformat(timespec="seconds")

    line = {"kind": "retrain", "triggers": [DRIFT, QUIET], "fired": ["drift"]}
    return [
        {**line, "event": "started", "id": "r-1", "started_at": at(0)},
        {**line, "event": "finished", "id": "r-1", "at": at(1), "outcome": "registered", "stage": "gate",
         "model_version": "2", "champion_before": "1", "champion_after": "2", "gate": {"passed": True, "failing": []},
         "message": "v2 passed and is champion"},
        {**line, "event": "started", "id": "r-2", "started_at": at(60)},
        {**line, "event": "finished", "id": "r-3", "at": at(120), "outcome": "rejected", "stage": "gate",
         "model_version": "3", "champion_before": "2", "champion_after": "2",
         "gate": {"passed": False, "failing": ["quality.metric[roc_auc]"]}, "message": "v3 failed the gate"},
    ]  # fmt: skip


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled project after a passing gated run, two monitor runs and four journal lines."""
    found = monitored_project(tmp_path_factory.mktemp("dashboard"))
    folder, config = found.folder, found.config
    for log, out in (("log-clean", "mon-clean"), ("log-shift", "mon-shift")):
        done = mlgate("monitor", "--log", log, *WINDOW, "--out", out, cwd=folder)
        assert done.returncode in (0, 1), done.stdout + done.stderr
    journal = config.retrain.journal_path(config.root)
    for line in _retrain_lines(datetime.now(UTC)):  # after the monitor runs: on their time axis
        append_line(journal, line)
    return folder


def _app(config: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("MLGATE_DASHBOARD_CONFIG", str(config))
    monkeypatch.delenv("MLGATE_TRACKING_URI", raising=False)
    return AppTest.from_file(str(APP), default_timeout=120).run()


def _texts(elements: Any) -> list[str]:
    return [str(element.value) for element in elements]


def _specs(tab: Any) -> list[dict[str, Any]]:
    return [json.loads(chart.proto.spec) for chart in tab.get("vega_lite_chart")]


def _marks(spec: dict[str, Any]) -> list[str]:
    return [layer["mark"]["type"] for layer in spec.get("layer", [spec])]


def _retrain_layers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The layers drawn in the retrain colour: the rule at each retrain's ``at`` and its label."""
    return [layer for layer in spec.get("layer", []) if layer["mark"].get("color") == RETRAIN_COLOR]


def test_every_tab_renders_the_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(project / "mlgate.toml", monkeypatch)
    assert not at.exception, at.exception
    assert not at.error, _texts(at.error)
    assert [tab.label for tab in at.tabs] == list(TABS)
    champion, drift, quality, traffic, journal = at.tabs

    assert "Champion: german-credit v1" in _texts(champion.subheader)
    assert any("gate report passed (`reports/report.json`)" in text for text in _texts(champion.markdown))
    assert "Failures: 0" in _texts(champion.markdown)
    assert champion.get("download_button"), "no report.html to download"

    drift_specs = _specs(drift)
    assert len(drift_specs) == 2 and all(_marks(spec) == ["line", "rule", "rule", "text"] for spec in drift_specs)
    for spec in drift_specs:
        rule, label = _retrain_layers(spec)
        assert (rule["mark"]["type"], rule["encoding"]["x"]["field"]) == ("rule", "at")
        assert (label["mark"]["type"], label["encoding"]["text"]["field"]) == ("text", "label")
    assert any("black rule is a retrain" in text for text in _texts(drift.caption))
    latest = drift.dataframe[0].value
    assert latest.set_index("feature").loc["credit_amount", "status"] == "fail"

    quality_specs = _specs(quality)
    assert len(quality_specs) == 6
    assert all(_marks(spec) == ["area", "line", "rule", "rule", "text"] for spec in quality_specs)
    assert all(len(_retrain_layers(spec)) == 2 for spec in quality_specs)
    assert any(text.startswith("**roc_auc**") for text in _texts(quality.markdown))

    assert len(_specs(traffic)) == 2
    runs = traffic.dataframe[0].value
    assert list(runs["predictions"]) == [300.0, 300.0] and list(runs["passed"]) == [False, True]

    assert "Retrain journal" in _texts(journal.subheader)
    assert _texts(journal.warning) == ["1 retrain(s) started with no finished line (running or died): r-2"]
    table = journal.dataframe[0].value
    assert list(table.columns) == [
        "when (UTC)", "outcome", "fired triggers", "evidence", "model version", "champion before → after",
        "failing checks", "stage", "message / error", "retrain id",
    ]  # fmt: skip
    assert list(table["retrain id"]) == ["r-3", "r-2", "r-1"]  # newest first
    assert list(table["outcome"]) == ["rejected", "running or died", "registered"]
    assert list(table["champion before → after"]) == ["v2 (kept)", "", "v1 → v2"]
    assert list(table["failing checks"]) == ["quality.metric[roc_auc]", "", ""]
    assert table["evidence"].iloc[2] == "drift: monitor run failed monitor.input_drift[x]"  # the fired one only
    choice = journal.selectbox[0]
    assert choice.options[0].endswith("· rejected · r-3") and len(choice.options) == 3
    triggers = journal.dataframe[1].value  # the newest retrain's, until another is chosen
    assert list(triggers["name"]) == ["drift", "stale"] and triggers["evidence"].iloc[1] == "champion trained today"
    assert [expander.label for expander in journal.expander] == ["finished line"]


def test_choosing_a_retrain_shows_its_lines(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(project / "mlgate.toml", monkeypatch)
    journal = at.tabs[4]
    journal.selectbox[0].set_value("r-1").run()
    journal = at.tabs[4]
    assert not at.exception, at.exception
    assert [expander.label for expander in journal.expander] == ["started line", "finished line"]
    finished = journal.expander[1].json[0].value
    assert json.loads(finished)["outcome"] == "registered"


def test_an_empty_project_says_nothing_yet_and_creates_no_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = copy_project(tmp_path)
    at = _app(folder / "mlgate.toml", monkeypatch)
    assert not at.exception, at.exception
    assert not at.error, _texts(at.error)
    assert [_texts(tab.info) for tab in at.tabs] == [
        [NOTHING_STORE],
        [NOTHING_MONITOR],
        [NOTHING_MONITOR],
        [NOTHING_MONITOR],
        [NOTHING_JOURNAL],
    ]
    assert NOTHING_STORE == "nothing yet, run mlgate run"
    assert not (folder / "mlruns").exists() and not (folder / ".mlgate").exists()


def test_a_broken_config_is_one_error_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mlgate.toml").write_text("name = [\n", encoding="utf-8")
    at = _app(tmp_path / "mlgate.toml", monkeypatch)
    assert not at.exception, at.exception
    (line,) = _texts(at.error)
    assert line.startswith("mlgate: error: ") and "mlgate.toml" in line and "\n" not in line
    assert not at.tabs


def test_an_unreadable_history_is_an_error_line_in_its_tabs_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = copy_project(tmp_path)
    config = load_config(folder / "mlgate.toml")
    config.monitor.history_path(config.root).mkdir(parents=True)  # a folder where the file should be
    at = _app(folder / "mlgate.toml", monkeypatch)
    assert not at.exception, at.exception
    errors = [_texts(tab.error) for tab in at.tabs]
    assert errors[0] == [] and errors[4] == []
    assert all(len(found) == 1 and "cannot read the journal" in found[0] for found in errors[1:4])


# -- a real browser -------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _dashboard_command(config: Path, port: int) -> list[str]:
    """``mlgate dashboard``; until ci.cli registers the command, the same function on its own typer app."""
    from mlgate.ci.cli import app

    args = ["--config", str(config), "--port", str(port)]
    if any(
        command.callback is not None and command.callback.__name__ == "dashboard" for command in app.registered_commands
    ):
        return [*MLGATE, "dashboard", *args]
    code = (
        "import typer; from mlgate.ci.cli_dashboard import dashboard; "
        "app = typer.Typer(); app.command()(dashboard); app()"
    )
    return [sys.executable, "-c", code, *args]


@pytest.fixture
def server(project: Path) -> Iterator[str]:
    port = _free_port()
    log = project / f"dashboard-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            _dashboard_command(project / "mlgate.toml", port),
            cwd=project,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=cli_env(),
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{url}/_stcore/health", f"mlgate dashboard (log {log})", timeout_s=90, alive=process)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


class DevTools:
    """One page of a running Chromium, driven over the DevTools protocol (its websocket)."""

    def __init__(self, connection: Any) -> None:
        self.connection, self.ident = connection, 0

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.ident += 1
        await self.connection.send(json.dumps({"id": self.ident, "method": method, "params": params}))
        while (reply := json.loads(await self.connection.recv())).get("id") != self.ident:
            continue
        assert "error" not in reply, reply
        result: dict[str, Any] = reply["result"]
        return result

    async def text_with(self, wanted: str, *, timeout_s: float) -> str:
        """The page's text once it contains ``wanted`` (Streamlit renders client-side), or when time is up."""
        deadline, text = time.monotonic() + timeout_s, ""
        while time.monotonic() < deadline and wanted not in text:
            await asyncio.sleep(1)
            found = await self.call("Runtime.evaluate", expression="document.body.innerText")
            text = str(found["result"].get("value", ""))
        return text

    async def screenshot(self, png: Path) -> None:
        await asyncio.sleep(2)  # the charts draw after the text
        shot = await self.call("Page.captureScreenshot", format="png")
        png.write_bytes(base64.b64decode(shot["data"]))

    async def click_tab(self, label: str) -> None:
        """Press the tab named ``label`` with the mouse (Streamlit's tabs answer pointer events, not .click())."""
        where = (
            "JSON.stringify((() => { const r = [...document.querySelectorAll('[role=tab]')]"
            f".find(tab => tab.innerText.trim() === {json.dumps(label)}).getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })())"
        )
        found = await self.call("Runtime.evaluate", expression=where)
        x, y = json.loads(found["result"]["value"])
        for kind in ("mousePressed", "mouseReleased"):
            await self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)


async def _render(debugger: str, folder: Path) -> tuple[str, str]:
    """The first tab's text and the Drift tab's, each with a screenshot (dashboard.png, dashboard-drift.png)."""
    import websockets

    targets = httpx.get(f"{debugger}/json/list", timeout=10).json()
    page = next(t for t in targets if t.get("type") == "page")
    async with websockets.connect(page["webSocketDebuggerUrl"], max_size=None) as connection:
        tools = DevTools(connection)
        # the last part the first tab renders (Streamlit draws client-side, section by section: on a loaded machine
        # the champion's line can be on the page seconds before the release history is)
        first = await tools.text_with("Failures: 0", timeout_s=120)
        await tools.screenshot(folder / "dashboard.png")
        await tools.click_tab("Drift")
        drift = await tools.text_with("Prediction drift", timeout_s=30)
        await tools.screenshot(folder / "dashboard-drift.png")
        return first, drift


def _wait_for(url: str, what: str, *, timeout_s: float, alive: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        assert alive is None or alive.poll() is None, f"{what} exited {alive.returncode if alive else ''}"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{what} did not answer in {timeout_s:g} s"
        time.sleep(0.5)


@pytest.mark.browser
def test_chromium_renders_the_dashboard(server: str, project: Path, tmp_path: Path) -> None:
    from test_report_browser import FLAGS, _chromium

    chromium = _chromium()
    debug_port = _free_port()
    command = [chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--remote-debugging-port={debug_port}"]
    browser = subprocess.Popen(
        [*command, "--window-size=1400,1200", server],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    debugger = f"http://127.0.0.1:{debug_port}"
    try:
        _wait_for(f"{debugger}/json/version", "chromium's DevTools endpoint", timeout_s=60, alive=browser)
        text, drift = asyncio.run(_render(debugger, project))
    finally:
        os.killpg(browser.pid, signal.SIGTERM)
        browser.wait(timeout=20)
    assert "Champion: german-credit v1" in text, text[-2000:]
    assert all(label in text for label in TABS), text[-2000:]
    assert "Releases" in text and "Failures: 0" in text and NOTHING_STORE not in text
    assert "Input drift" in drift and "credit_amount" in drift and NOTHING_MONITOR not in drift, drift[-2000:]

    from matplotlib.image import imread

    for png in (project / "dashboard.png", project / "dashboard-drift.png"):
        pixels = imread(png)[..., :3]
        assert pixels.shape[1] == 1400 and pixels.shape[0] > 800, pixels.shape
        assert pixels.std() > 0.05, f"{png.name} is blank"
