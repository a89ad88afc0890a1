"""The Streamlit script of ``mlgate dashboard`` (``streamlit run`` runs it as ``__main__``; importing it draws nothing).

Five tabs over :mod:`ci.dashboard_data`: Champion & releases (the registry, each release's gate report: layers,
failures, waivers, report.html), Drift (each feature's effect against its effect floor, drawn as a rule; the
prediction drift), Quality (live quality against the champion's offline value, drawn as a rule, with the interval;
the label-free estimate), Traffic & latency (request volume, latency p50/p99 against their budgets) and Retrain
journal. The config file is named by the environment variable ``MLGATE_DASHBOARD_CONFIG`` (``mlgate dashboard``
sets it; default ``mlgate.toml`` in the working folder). A missing store, history or journal is a "nothing yet" note
naming the command that fills it; a broken config or an unreadable store is one error line.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from mlgate.ci.dashboard_data import (
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


def _table(frame: pd.DataFrame) -> None:
    st.dataframe(_shown(frame), hide_index=True)


def _time() -> alt.X:
    """The time axis: monitor runs, minutes apart or months, labelled to the minute (UTC)."""
    return alt.X("at:T", title="monitor run (UTC)", axis=alt.Axis(format="%Y-%m-%d %H:%M", labelOverlap=True))


def _chart(chart: Any) -> None:
    st.altair_chart(chart, width="stretch")


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


def _effect_chart(frame: pd.DataFrame, *, color: str | None) -> alt.LayerChart | alt.FacetChart:
    base = alt.Chart(_shown(frame))
    encode: dict[str, Any] = {"x": _time(), "y": alt.Y("effect:Q", title="effect")}
    tooltip = ["at:T", "effect:Q", "effect_floor:Q", "status:N"]
    if color is not None:
        encode["color"] = alt.Color(f"{color}:N")
        tooltip = [f"{color}:N", *tooltip]
    lines = base.mark_line(point=True).encode(**encode, tooltip=tooltip)
    floors = frame.dropna(subset=["effect_floor"]).drop_duplicates(["effect_floor"])[["effect_floor"]]
    rule = alt.Chart(floors).mark_rule(color="red", strokeDash=[6, 3]).encode(y="effect_floor:Q")
    return alt.layer(lines, rule)


def drift_tab(frames: MonitorFrames) -> None:
    if frames.empty:
        _nothing(NOTHING_MONITOR)
        return
    st.subheader("Input drift")
    st.caption("Each feature's effect size per monitor run; the dashed red rule is the effect floor.")
    if frames.input_drift.empty:
        _nothing("nothing yet: no input drift judged (mlgate monitor on a window with enough rows)")
    else:
        _chart(_effect_chart(frames.input_drift, color="feature"))
        latest = frames.input_drift[frames.input_drift["at"] == frames.input_drift["at"].max()]
        _table(latest[["feature", "effect", "effect_floor", "effect_name", "p_value", "status"]])
    st.subheader("Prediction drift")
    if frames.prediction_drift.empty:
        _nothing("nothing yet: no prediction drift judged (mlgate monitor on a window with enough rows)")
    else:
        _chart(_effect_chart(frames.prediction_drift, color=None))


# -- Quality --------------------------------------------------------------------------------------------------------


def _quality_chart(frame: pd.DataFrame, value: str, title: str) -> alt.LayerChart | alt.FacetChart:
    base = alt.Chart(_shown(frame)).encode(x=_time())
    band = base.mark_area(opacity=0.25).encode(y=alt.Y(f"{value}_low:Q", title=title), y2=f"{value}_high:Q")
    line = base.mark_line(point=True).encode(y=f"{value}:Q", tooltip=["at:T", f"{value}:Q", "offline:Q", "status:N"])
    offline = frame.dropna(subset=["offline"]).tail(1)[["offline"]]
    rule = alt.Chart(offline).mark_rule(color="green", strokeDash=[6, 3]).encode(y="offline:Q")
    return alt.layer(band, line, rule)


def _per_metric(frame: pd.DataFrame, value: str, label: str) -> None:
    for metric, rows in frame.groupby("metric", sort=True):
        st.markdown(f"**{metric}** ({label}; the dashed green rule is the champion's offline value)")
        _chart(_quality_chart(rows, value, str(metric)))


def quality_tab(frames: MonitorFrames) -> None:
    if frames.empty:
        _nothing(NOTHING_MONITOR)
        return
    st.subheader("Live quality")
    if frames.live_quality.empty:
        _nothing("nothing yet: live quality needs feedback (POST /feedback), then mlgate monitor")
    else:
        _per_metric(frames.live_quality, "live", "on served predictions with feedback, with its interval")
    st.subheader("Estimated quality (no labels)")
    if frames.estimated_quality.empty:
        _nothing("nothing yet: no label-free estimate (mlgate monitor with [monitor] metrics)")
    else:
        _per_metric(frames.estimated_quality, "expected", "ESTIMATE from the served probabilities, never blocking")


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


def journal_tab(view: JournalView) -> None:
    st.subheader("Retrain journal")
    if view.frame.empty:
        _nothing(NOTHING_JOURNAL)
        return
    running = view.frame[view.frame["open"]]
    if not running.empty:
        ids = ", ".join(str(i) for i in running["id"])
        st.warning(f"{len(running)} retrain(s) started with no finished line (running or died): {ids}")
    _table(view.frame.sort_values("at", ascending=False))
    if view.skipped:
        st.caption(f"{view.skipped} torn or foreign lines of the journal skipped")


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
    tabs = st.tabs(list(TABS))
    draws: tuple[Callable[[Any], None], ...] = (champion_tab, drift_tab, quality_tab, traffic_tab, journal_tab)
    for tab, draw, loaded in zip(tabs, draws, (registry, monitor, monitor, monitor, journal), strict=True):
        with tab:
            _draw(draw, loaded)


if __name__ == "__main__":
    main()
