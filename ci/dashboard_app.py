"""The Streamlit script of ``mlgate dashboard`` (``streamlit run`` runs it as ``__main__``; importing it draws nothing).

Five tabs over :mod:`ci.dashboard_data`: Champion & releases (the registry, each release's gate report: layers,
failures, waivers, report.html), Drift (each feature's effect against its effect floor, drawn as a rule; the
prediction drift), Quality (live quality against the champion's offline value, drawn as a rule, with the interval;
the label-free estimate), Traffic & latency (request volume, latency p50/p99 against their budgets) and Retrain
journal (one row per retrain, newest first, its outcome in plain words; every trigger's evidence and the full lines
of the one chosen). Each retrain that made a new champion is a labelled vertical rule on the drift and quality
charts, so drift, retrain and recovery share one time axis. The config file is named by the environment variable
``MLGATE_DASHBOARD_CONFIG`` (``mlgate dashboard`` sets it; default ``mlgate.toml`` in the working folder). A missing
store, history or journal is a "nothing yet" note naming the command that fills it; a broken config or an unreadable
store is one error line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from mlgate.ci.dashboard_data import (
    CHAMPION_CHANGED,
    NOTHING_JOURNAL,
    NOTHING_MONITOR,
    NOTHING_STORE,
    GateSummary,
    JournalView,
    MonitorFrames,
    RegistryView,
    load_journal,
    load_monitor,
    load_registry,
)
from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.errors import MlgateError

__all__ = ["TABS", "main"]

CONFIG_ENV = "MLGATE_DASHBOARD_CONFIG"  # ci.cli_dashboard.CONFIG_ENV (not imported: that module is the CLI's)
TABS = ("Champion & releases", "Drift", "Quality", "Traffic & latency", "Retrain journal")
#: Seconds the registry's view is cached (MLflow calls are slow); Refresh clears it.
REGISTRY_TTL_S = 30
RETRAIN_COLOR = "#222222"  # not in the feature palette (a purple rule looked like a feature's line)
#: The journal table's columns as shown: the outcome in plain words (the raw one is in the retrain's lines).
JOURNAL_SHOWN = {
    "at": "when (UTC)", "status": "outcome", "fired": "fired triggers",
    "evidence": "evidence", "model_version": "model version", "champion": "champion before → after",
    "failing": "failing checks", "stage": "stage", "message": "message / error", "id": "retrain id",
}  # fmt: skip
#: The long journal columns: the message gets the most room (a cell shows all of it on hover; the id is in the picker).
WIDTHS: dict[str, Any] = {"evidence": "medium", "message": "large"}
NO_MARKS = pd.DataFrame({"at": pd.Series([], dtype="datetime64[ns, UTC]"), "id": [], "label": []})


def _config() -> ProjectConfig | None:
    from mlgate.pipeline.config import load_config

    try:
        return load_config(Path(os.environ.get(CONFIG_ENV) or "mlgate.toml"))
    except MlgateError as exc:
        st.error(f"mlgate: error: {exc}")
        return None


@st.cache_data(ttl=REGISTRY_TTL_S, show_spinner="Reading the registry...")
def _registry(path: str, _config: ProjectConfig) -> RegistryView:  # `path` is the cache key
    return load_registry(_config)


def _nothing(text: str) -> None:
    st.info(text)


def _shown(frame: pd.DataFrame) -> pd.DataFrame:
    """Times as naive UTC: Streamlit hands frames to Arrow, which warns on time-zone-aware columns (pandas 3.1)."""
    zoned = [column for column in frame.columns if isinstance(frame[column].dtype, pd.DatetimeTZDtype)]
    return frame.assign(**{column: frame[column].dt.tz_convert(None) for column in zoned}) if zoned else frame


def _table(frame: pd.DataFrame, **config: Any) -> None:
    st.dataframe(_shown(frame), hide_index=True, column_config=config or None)


def _time() -> alt.X:
    """The time axis: monitor runs, seconds apart (the loop demo) or months, labelled to the second (UTC)."""
    return alt.X("at:T", title="monitor run (UTC)", axis=alt.Axis(format="%Y-%m-%d %H:%M:%S", labelOverlap=True))


def _chart(chart: Any) -> None:
    st.altair_chart(chart, width="stretch")


def retrain_marks(journal: pd.DataFrame) -> pd.DataFrame:
    """The retrains that made a new champion (``CHAMPION_CHANGED``): ``at``, ``id``, ``label`` (the new version)."""
    changed = journal[journal["outcome"].isin(CHAMPION_CHANGED)]
    labels = [f"retrain → v{v}" if isinstance(v, str | int) else "retrain" for v in changed["model_version"]]
    return pd.DataFrame({"at": changed["at"], "id": changed["id"], "label": labels}).reset_index(drop=True)


def _retrains(marks: pd.DataFrame) -> list[alt.Chart]:
    """A vertical rule at each retrain that made a new champion, labelled with its version (nothing when none)."""
    if marks.empty:
        return []
    base = alt.Chart(_shown(marks)).encode(x=_time())
    rule = base.mark_rule(color=RETRAIN_COLOR, strokeWidth=2).encode(tooltip=["at:T", "label:N", "id:N"])
    text = base.mark_text(align="left", baseline="top", dx=4, dy=4, color=RETRAIN_COLOR, fontWeight="bold")
    return [rule, text.encode(y=alt.value(0), text="label:N")]


_RETRAIN_NOTE = "; the solid black rule is a retrain that made a new champion, labelled with its version"


# -- Champion & releases --------------------------------------------------------------------------------------------


def _report(version: str, summary: GateSummary) -> None:
    if summary.error:
        st.error(summary.error)
        return
    verdict = {True: "passed", False: "failed", None: "unknown"}[summary.passed]
    st.markdown(f"**v{version}**: gate report {verdict} (`{summary.source}`)")
    if summary.layers:
        _table(pd.DataFrame(summary.layers.items(), columns=["layer", "status"]))
    st.markdown(f"Failures: {len(summary.failures)}")
    if not summary.failures.empty:
        _table(summary.failures)
    st.markdown(f"Waivers: {len(summary.waivers)}")
    if not summary.waivers.empty:
        _table(summary.waivers)
    if summary.html is not None:
        name = f"report-v{version}.html"
        st.download_button(f"report.html of v{version}", summary.html, file_name=name, mime="text/html")


def champion_tab(view: RegistryView) -> None:
    if not view.exists:
        _nothing(NOTHING_STORE)
        return
    if view.error:
        st.error(f"mlgate: error: {view.error}")
        return
    champion = view.champion
    if champion is None:
        st.markdown(f"Model **{view.model_name}** has no champion yet (a passing `mlgate run` promotes one).")
    else:
        st.subheader(f"Champion: {champion.name} v{champion.version}")
        st.markdown(f"Run `{champion.run_id}`, trained {champion.trained_at:%Y-%m-%d %H:%M} UTC")
    if view.versions.empty:
        _nothing(NOTHING_STORE)
        return
    st.subheader("Releases")
    _table(view.versions)
    if view.reports:
        versions = list(view.reports)
        default = versions.index(champion.version) if champion is not None and champion.version in versions else 0
        chosen = st.selectbox("Gate report of version", versions, index=default)
        if chosen is not None:
            _report(chosen, view.reports[chosen])


# -- Drift ----------------------------------------------------------------------------------------------------------


def _effect_chart(frame: pd.DataFrame, marks: pd.DataFrame, *, color: str | None) -> alt.LayerChart | alt.FacetChart:
    base = alt.Chart(_shown(frame))
    encode: dict[str, Any] = {"x": _time(), "y": alt.Y("effect:Q", title="effect")}
    tooltip = ["at:T", "effect:Q", "effect_floor:Q", "status:N"]
    if color is not None:
        encode["color"] = alt.Color(f"{color}:N")
        tooltip = [f"{color}:N", *tooltip]
    lines = base.mark_line(point=True).encode(**encode, tooltip=tooltip)
    floors = frame.dropna(subset=["effect_floor"]).drop_duplicates(["effect_floor"])[["effect_floor"]]
    rule = alt.Chart(floors).mark_rule(color="red", strokeDash=[6, 3]).encode(y="effect_floor:Q")
    return alt.layer(lines, rule, *_retrains(marks))


def drift_tab(frames: MonitorFrames, marks: pd.DataFrame = NO_MARKS) -> None:
    if frames.empty:
        _nothing(NOTHING_MONITOR)
        return
    st.subheader("Input drift")
    note = _RETRAIN_NOTE if not marks.empty else ""
    st.caption(f"Each feature's effect size per monitor run; the dashed red rule is the effect floor{note}.")
    if frames.input_drift.empty:
        _nothing("nothing yet: no input drift judged (mlgate monitor on a window with enough rows)")
    else:
        _chart(_effect_chart(frames.input_drift, marks, color="feature"))
        latest = frames.input_drift[frames.input_drift["at"] == frames.input_drift["at"].max()]
        _table(latest[["feature", "effect", "effect_floor", "effect_name", "p_value", "status"]])
    st.subheader("Prediction drift")
    if frames.prediction_drift.empty:
        _nothing("nothing yet: no prediction drift judged (mlgate monitor on a window with enough rows)")
    else:
        _chart(_effect_chart(frames.prediction_drift, marks, color=None))


# -- Quality --------------------------------------------------------------------------------------------------------


def _quality_chart(frame: pd.DataFrame, value: str, title: str, marks: pd.DataFrame) -> alt.LayerChart | alt.FacetChart:
    base = alt.Chart(_shown(frame)).encode(x=_time())
    band = base.mark_area(opacity=0.25).encode(y=alt.Y(f"{value}_low:Q", title=title), y2=f"{value}_high:Q")
    line = base.mark_line(point=True).encode(y=f"{value}:Q", tooltip=["at:T", f"{value}:Q", "offline:Q", "status:N"])
    offline = frame.dropna(subset=["offline"]).tail(1)[["offline"]]
    rule = alt.Chart(offline).mark_rule(color="green", strokeDash=[6, 3]).encode(y="offline:Q")
    return alt.layer(band, line, rule, *_retrains(marks))


def _per_metric(frame: pd.DataFrame, value: str, label: str, marks: pd.DataFrame) -> None:
    note = _RETRAIN_NOTE if not marks.empty else ""
    for metric, rows in frame.groupby("metric", sort=True):
        st.markdown(f"**{metric}** ({label}; the dashed green rule is the champion's offline value{note})")
        _chart(_quality_chart(rows, value, str(metric), marks))


def quality_tab(frames: MonitorFrames, marks: pd.DataFrame = NO_MARKS) -> None:
    if frames.empty:
        _nothing(NOTHING_MONITOR)
        return
    st.subheader("Live quality")
    if frames.live_quality.empty:
        _nothing("nothing yet: live quality needs feedback (POST /feedback), then mlgate monitor")
    else:
        _per_metric(frames.live_quality, "live", "on served predictions with feedback, with its interval", marks)
    st.subheader("Estimated quality (no labels)")
    if frames.estimated_quality.empty:
        _nothing("nothing yet: no label-free estimate (mlgate monitor with [monitor] metrics)")
    else:
        _per_metric(
            frames.estimated_quality, "expected", "ESTIMATE from the served probabilities, never blocking", marks
        )


# -- Traffic & latency ----------------------------------------------------------------------------------------------


def traffic_tab(frames: MonitorFrames) -> None:
    if frames.empty:
        _nothing(NOTHING_MONITOR)
        return
    st.subheader("Request volume")
    volume = frames.runs.melt(id_vars=["at"], value_vars=["predictions", "rejected"], var_name="kind")
    _chart(alt.Chart(_shown(volume)).mark_line(point=True).encode(x=_time(), y="value:Q", color="kind:N"))
    st.subheader("Latency")
    if frames.latency.empty:
        _nothing("nothing yet: no latency judged (mlgate monitor)")
    else:
        lines = alt.Chart(_shown(frames.latency)).mark_line(point=True)
        lines = lines.encode(x=_time(), y=alt.Y("observed:Q", title="ms"), color="quantile:N")
        budgets = frames.latency.dropna(subset=["budget_ms"]).drop_duplicates(["quantile", "budget_ms"])
        budgets = budgets[["quantile", "budget_ms"]]
        rule = alt.Chart(budgets).mark_rule(strokeDash=[6, 3]).encode(y="budget_ms:Q", color="quantile:N")
        _chart(alt.layer(lines, rule))
    st.subheader("Monitor runs")
    _table(frames.runs.sort_values("at", ascending=False))
    if frames.skipped:
        st.caption(f"{frames.skipped} torn or foreign lines of the monitor history skipped")


# -- Retrain journal ------------------------------------------------------------------------------------------------


def triggers_frame(line: Mapping[str, Any]) -> pd.DataFrame:
    """Every trigger a journal line evaluated: name, fires, fired, handled_by, evidence, key."""
    columns = ["name", "fires", "fired", "handled_by", "evidence", "key"]
    triggers = line.get("triggers")
    found = [t for t in triggers if isinstance(t, Mapping)] if isinstance(triggers, list) else []
    return pd.DataFrame([{c: t.get(c) for c in columns} for t in found], columns=columns)


def _retrain_detail(lines: list[dict[str, Any]]) -> None:
    """Every trigger's evidence (of the ``finished`` line, else the last one) and each of the retrain's lines."""
    finished = [line for line in lines if line.get("event", line.get("kind")) not in ("started", "interrupted")]
    triggers = triggers_frame((finished or lines)[-1])
    if triggers.empty:
        st.caption("no trigger evaluated")
    else:
        _table(triggers)
    for line in lines:
        with st.expander(f"{line.get('event', line.get('kind'))} line", expanded=False):
            st.json(line)


def journal_tab(view: JournalView) -> None:
    st.subheader("Retrain journal")
    if view.frame.empty:
        _nothing(NOTHING_JOURNAL)
        return
    running = view.frame[view.frame["open"]]
    if not running.empty:
        ids = ", ".join(str(i) for i in running["id"])
        st.warning(f"{len(running)} retrain(s) started with no finished line (running or died): {ids}")
    newest = view.frame.sort_values("at", ascending=False, kind="stable")
    wide = {JOURNAL_SHOWN[name]: st.column_config.TextColumn(width=size) for name, size in WIDTHS.items()}
    _table(newest[list(JOURNAL_SHOWN)].rename(columns=JOURNAL_SHOWN), **wide)
    if view.skipped:
        st.caption(f"{view.skipped} torn or foreign lines of the journal skipped")
    labels = {row.id: f"{row.at:%Y-%m-%d %H:%M:%S} · {row.status} · {row.id}" for row in newest.itertuples()}
    chosen = st.selectbox("Triggers and journal lines of retrain", list(labels), format_func=labels.__getitem__)
    if chosen is not None:
        _retrain_detail(view.lines.get(chosen, []))


def _load(load: Callable[[ProjectConfig], Any], config: ProjectConfig) -> tuple[Any, str | None]:
    """A section's data, or the one error line (an unreadable file or store) that replaces it."""
    try:
        return load(config), None
    except MlgateError as exc:
        return None, f"mlgate: error: {exc}"


def _draw(draw: Callable[[Any], None], loaded: tuple[Any, str | None]) -> None:
    data, error = loaded
    if error is not None:
        st.error(error)
    else:
        draw(data)


def main() -> None:
    st.set_page_config(page_title="mlgate dashboard", layout="wide")
    st.title("mlgate dashboard")
    config = _config()
    if config is None:
        return
    if st.button("Refresh"):
        st.cache_data.clear()
    st.caption(f"{config.name}: {config.path}")
    registry = _load(lambda c: _registry(str(c.path), c), config)
    monitor, journal = _load(load_monitor, config), _load(load_journal, config)
    marks = retrain_marks(journal[0].frame) if journal[0] is not None and not journal[0].frame.empty else NO_MARKS
    tabs = st.tabs(list(TABS))
    drift, quality = partial(drift_tab, marks=marks), partial(quality_tab, marks=marks)
    draws: tuple[Callable[[Any], None], ...] = (champion_tab, drift, quality, traffic_tab, journal_tab)
    for tab, draw, loaded in zip(tabs, draws, (registry, monitor, monitor, monitor, journal), strict=True):
        with tab:
            _draw(draw, loaded)


if __name__ == "__main__":
    main()
