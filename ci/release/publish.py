"""``release``: from a passed gate report and a bundle to a pushed, pulled, smoke- and parity-tested image."""

from __future__ import annotations

import hashlib
import json
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.ci.release.base import ensure_base_image
from mlgate.ci.release.bundle import read_golden, read_release, sha256_file
from mlgate.ci.release.errors import ParityError, ReleaseError, ReleaseRefused
from mlgate.ci.release.image import (
    build_context,
    build_image,
    image_labels,
    inspect_image,
    pull_image,
    push_image,
    remove_image,
)
from mlgate.ci.release.podman import Podman
from mlgate.ci.release.registry import free_port, local_registry
from mlgate.ci.release.smoke import ParityResult, smoke_test

if TYPE_CHECKING:
    from mlgate.pipeline.config import ProjectConfig

__all__ = ["ReleaseResult", "check_release_inputs", "release"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: What the parity check compares, per task (ci.release.smoke).
_SCORES = {
    "binary": "probabilities",
    "multiclass": "class probability rows and decided classes",
    "regression": "predicted values",
}


@dataclass(frozen=True)
class ReleaseResult:
    image: str
    digest: str
    parity: ParityResult
    labels: dict[str, str]
    user: str
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "digest": self.digest,
            "parity": self.parity.to_dict(),
            "labels": self.labels,
            "user": self.user,
            "timings": self.timings,
        }

    def parity_check(self) -> CheckResult:
        """The serving-parity check of the reproducibility layer, for the gate report."""
        p = self.parity
        what = _SCORES.get(p.task, "scores")
        path = f"; served by the {p.scoring_path} path" if p.scoring_path else ""
        if p.scoring_path_reason:
            path += f" ({p.scoring_path_reason})"
        if p.passed:
            message = f"image {self.image}@{self.digest[:19]}: {p.rows} golden {what} bitwise equal to offline{path}"
        elif p.mismatches:
            message = (
                f"image {self.image}: {p.mismatches} of {p.rows} golden {what} differ from offline "
                f"(max abs diff {p.max_abs_diff:.3g}, first row {p.first_mismatch}{path}); expected bitwise equality "
                "— check the image's numpy/scikit-learn pins against uv.lock"
            )
        else:
            message = (
                f"image {self.image}: the served decision of {p.decision_mismatches} of {p.rows} golden rows differs "
                f"from the gate's (first row {p.first_decision_mismatch}) although the scores are bitwise equal; "
                "the bundle's model.meta.json does not carry the gate's decision rule (threshold or class_costs)"
            )
        observed = {"mismatches": p.mismatches, "max_abs_diff": p.max_abs_diff}
        if p.task != "regression":
            observed["decision_mismatches"] = p.decision_mismatches
        return CheckResult(
            id="reproducibility.serving_parity",
            layer="reproducibility",
            status=Status.PASS if p.passed else Status.FAIL,
            message=message,
            observed=observed,
            expected={"mismatches": 0, "decision_mismatches": 0} if p.task != "regression" else {"mismatches": 0},
            details=self.to_dict(),
            reason=None if p.passed else Reason.SERVING_MISMATCH,
        )


def check_release_inputs(*, report_path: Path, bundle_dir: Path) -> dict[str, Any]:
    """Refuse unless the gate report passed, is the one the bundle names, and model.skops is the recorded one."""
    try:
        raw = report_path.read_bytes()
        report = json.loads(raw)
    except FileNotFoundError as exc:
        raise ReleaseRefused(f"release refused: gate report {report_path} not found; run `mlgate run` first") from exc
    except ValueError as exc:
        raise ReleaseRefused(f"release refused: gate report {report_path} is not valid JSON") from exc
    if not isinstance(report, dict) or report.get("passed") is not True:
        listed = report.get("results") if isinstance(report, dict) else None
        failing = [
            str(r.get("id"))
            for r in (listed if isinstance(listed, list) else [])
            if isinstance(r, dict) and r.get("blocking") and r.get("status") in ("fail", "error")
        ]
        shown = ", ".join(failing[:3]) + (f" (+{len(failing) - 3} more)" if len(failing) > 3 else "")
        raise ReleaseRefused(
            f"release refused: gate report {report_path} did not pass ({len(failing)} blocking check(s) failed: "
            f"{shown or 'none listed'}); fix them and re-run the gates"
        )
    info = read_release(bundle_dir)
    observed = hashlib.sha256(raw).hexdigest()
    if info.get("gate_report_sha256") != observed:
        raise ReleaseRefused(
            f"release refused: gate report {report_path} has sha256 {observed[:12]}…, but "
            f"{bundle_dir / 'release.json'} names {str(info.get('gate_report_sha256'))[:12]}…: the bundle was not "
            "made from this report"
        )
    model_sha = sha256_file(bundle_dir / "model.skops")
    if info.get("model_sha256") != model_sha:
        raise ReleaseRefused(
            f"release refused: {bundle_dir / 'model.skops'} has sha256 {model_sha[:12]}…, but release.json records "
            f"{str(info.get('model_sha256'))[:12]}…"
        )
    return info


def _registry_address(repository: str) -> tuple[str, int]:
    host, _, rest = repository.partition("/")
    name, _, port = host.partition(":")
    if not rest or not port.isdigit():
        raise ReleaseError(
            f"release.image_repository {repository!r}: a local registry needs HOST:PORT/NAME, e.g. 127.0.0.1:5000/x"
        )
    return name, int(port)


def release(
    config: ProjectConfig, *, report_path: Path, bundle_dir: Path, workdir: Path, ready_timeout: float = 120.0
) -> ReleaseResult:
    """Build, push, pull back, run and parity-test the serving image; tear everything down after."""
    info = check_release_inputs(report_path=report_path, bundle_dir=bundle_dir)
    settings = config.release
    timings: dict[str, float] = {}
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        timings[name] = round(time.monotonic() - clock, 2)
        clock = time.monotonic()

    podman = Podman.default()
    base = ensure_base_image(podman)
    lap("base")
    context = build_context(PROJECT_ROOT, bundle_dir=bundle_dir, dest=workdir / "context")
    tag = f"{settings.image_repository}:v{info['model_version']}-{info['model_sha256'][:12]}"
    labels = image_labels(info)
    build_image(podman, context=context, base=base, tag=tag, labels=labels)
    lap("build")
    golden = read_golden(bundle_dir)
    local = settings.registry == "local"
    registry: AbstractContextManager[object]
    if local:
        host, port = _registry_address(settings.image_repository)
        registry = local_registry(host=host, port=port)
    else:
        from contextlib import nullcontext

        registry = nullcontext()
    with registry:
        digest = push_image(podman, tag, tls_verify=not local)
        lap("push")
        remove_image(podman, tag)
        pull_image(podman, tag, tls_verify=not local)
        lap("pull")
    inspected = inspect_image(podman, tag)
    name = f"mlgate-smoke-{hashlib.sha1(str(workdir.resolve()).encode()).hexdigest()[:8]}"
    parity = smoke_test(podman, tag, golden=golden, port=free_port(), name=name, ready_timeout=ready_timeout)
    lap("smoke")
    result = ReleaseResult(
        image=tag,
        digest=digest,
        parity=parity,
        labels={k: v for k, v in (inspected.get("Labels") or {}).items() if k in labels},
        user=str(inspected.get("Config", {}).get("User") or inspected.get("User") or ""),
        timings=timings,
    )
    if not parity.passed:
        raise ParityError(result.parity_check().message)
    return result
