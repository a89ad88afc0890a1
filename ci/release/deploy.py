"""Serve an image as N replicas behind nginx on loopback: deploy, rolling update, canary, rollback, teardown.

State lives in ``<workdir>/deploy/state.json``; nginx runs from ``<workdir>/deploy/nginx``. A replica joins the
upstream only after its /ready answered 200, and leaves it (graceful nginx reload, old workers drained) before
its container is stopped, so the load balancer never sends a request to a replica that cannot answer it. Every
replica records its predictions in the deployment's log, ``<workdir>/predictions`` or a database, which no
rollout or teardown deletes (:mod:`ci.release.deploy_log`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.ci.release.deploy_log import choose_log, container_hostname, log_env, prepare_log_folder
from mlgate.ci.release.errors import ReleaseError, RolloutFailed
from mlgate.ci.release.image import pull_image
from mlgate.ci.release.nginx import Upstream, nginx_pid, reload_nginx, start_nginx, stop_nginx
from mlgate.ci.release.podman import Podman
from mlgate.ci.release.registry import port_free
from mlgate.ci.release.smoke import http_json, run_container, wait_ready
from mlgate.pipeline.signing import ENV_TRUSTED_KEYS

if TYPE_CHECKING:
    from mlgate.pipeline.config import ProjectConfig

__all__ = [
    "DeployState",
    "Replica",
    "abort_canary",
    "canary",
    "deploy",
    "load_state",
    "promote_canary",
    "reconcile",
    "rollback",
    "rolling_update",
    "teardown",
]

READY_TIMEOUT = 90.0


@dataclass(frozen=True)
class Replica:
    name: str
    port: int
    image: str
    role: str = "stable"  # or "canary"
    hostname: str = ""  # unique per container: the app names its prediction-log file after it


@dataclass
class DeployState:
    """What is running: the load balancer port, the replicas, the current and previous image, a canary."""

    workdir: Path
    port: int
    image: str
    replicas: list[Replica] = field(default_factory=list)
    previous_image: str | None = None
    canary_share: float | None = None
    generation: int = 0
    tls_verify: bool = False
    log_dir: str | None = None  # the host folder every replica logs to (None: log_database, or no log)
    log_database: str | None = None  # the database every replica logs to, password hidden (None: log_dir)

    @property
    def folder(self) -> Path:
        return self.workdir / "deploy"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def deploy_id(self) -> str:
        return hashlib.sha1(str(self.workdir.resolve()).encode()).hexdigest()[:8]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["workdir"] = str(self.workdir)
        return data

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / "state.json.partial"
        partial.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        partial.replace(self.folder / "state.json")


def load_state(workdir: Path) -> DeployState:
    path = workdir / "deploy" / "state.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ReleaseError(f"{path}: no deployment here; run deploy first") from exc
    data["workdir"] = Path(data["workdir"])
    data["replicas"] = [Replica(**r) for r in data["replicas"]]
    return DeployState(**data)


def _weights(state: DeployState) -> list[Upstream]:
    stable = [r for r in state.replicas if r.role == "stable"]
    canaries = [r for r in state.replicas if r.role == "canary"]
    if not canaries or not stable or state.canary_share is None:
        return [Upstream(r.port, 1) for r in state.replicas]
    canary_weight = max(1, round(100 * state.canary_share / len(canaries)))
    stable_weight = max(1, round(100 * (1 - state.canary_share) / len(stable)))
    return [Upstream(r.port, canary_weight if r.role == "canary" else stable_weight) for r in state.replicas]


def _apply(state: DeployState) -> None:
    """Write the upstream set to nginx (graceful reload, drained) and persist the state."""
    state.generation += 1
    reload_nginx(state.folder / "nginx", listen_port=state.port, upstreams=_weights(state), generation=state.generation)
    state.save()


def _fresh_port(state: DeployState) -> int:
    used = {r.port for r in state.replicas}
    for port in range(state.port + 1, min(state.port + 200, 65536)):
        if port not in used and port_free("127.0.0.1", port):
            return port
    raise ReleaseError(f"no free port in 127.0.0.1:{state.port + 1}-{state.port + 199} for a new replica")


def _ensure_image(podman: Podman, image: str, *, tls_verify: bool) -> None:
    if not podman.exists(image):
        pull_image(podman, image, tls_verify=tls_verify)


def _start(
    podman: Podman, state: DeployState, image: str, *, role: str, ready_timeout: float, secret: dict[str, str]
) -> Replica:
    """Start one replica on a fresh port and wait for /ready; a replica that never gets ready is removed.
    ``secret``: the log database's URL variable (:func:`ci.release.deploy_log.log_env`), or nothing."""
    port = _fresh_port(state)
    name = f"mlgate-{state.deploy_id}-{port}"
    replica = Replica(name=name, port=port, image=image, role=role, hostname=container_hostname(name))
    # The image trusts the public keys baked into it at release; an operator's MLGATE_TRUSTED_KEYS replaces them
    # (after a key rotation, or to pin trust independently of the image).
    trusted = os.environ.get(ENV_TRUSTED_KEYS, "").strip()
    env = {ENV_TRUSTED_KEYS: trusted} if trusted else {}
    volumes: dict[Path, str] = {}
    if state.log_dir is not None:
        volumes, folder_env = prepare_log_folder(podman, image, Path(state.log_dir))
        env.update(folder_env)
    labels = {"io.mlgate.deploy": state.deploy_id}
    run_container(
        podman, image, name=name, port=port, labels=labels, env=env, secret_env=secret, hostname=replica.hostname,
        volumes=volumes,
    )  # fmt: skip
    try:
        wait_ready(
            f"http://127.0.0.1:{port}", timeout=ready_timeout, alive=lambda: podman.container_running(replica.name)
        )
    except ReleaseError as exc:
        log = podman.log_tail(replica.name)
        podman.remove_container(replica.name)
        raise ReleaseError(f"{exc}; container log: {log}") from exc
    return replica


def _retire(podman: Podman, state: DeployState, replica: Replica) -> None:
    """Take a replica out of the upstream (reload + drain), then stop it."""
    state.replicas = [r for r in state.replicas if r.name != replica.name]
    _apply(state)
    podman.remove_container(replica.name, stop_timeout=10)


def deploy(
    config: ProjectConfig,
    *,
    image: str,
    workdir: Path,
    replicas: int | None = None,
    ready_timeout: float = READY_TIMEOUT,
    log_dir: Path | None = None,
) -> DeployState:
    """Start ``replicas`` (default ``config.release.replicas``) containers of ``image`` and nginx in front of them.

    The replicas log predictions to ``log_dir`` (default ``<workdir>/predictions``), one SQLite file each, or to
    the database ``MLGATE_PREDICTION_LOG_URL`` names (:mod:`ci.release.deploy_log`).
    """
    if (workdir / "deploy" / "state.json").exists():
        raise ReleaseError(f"{workdir}: a deployment is already running; use rolling_update, or teardown first")
    settings = config.release
    count = replicas or settings.replicas
    folder, database = choose_log(config, workdir=workdir.resolve(), log_dir=log_dir)
    secret = log_env(config, database)
    if not port_free("127.0.0.1", settings.port):
        raise ReleaseError(f"load balancer port 127.0.0.1:{settings.port} is in use; change release.port")
    podman = Podman.default()
    state = DeployState(
        workdir=workdir.resolve(), port=settings.port, image=image, tls_verify=settings.registry == "external",
        log_dir=folder, log_database=database,
    )  # fmt: skip
    state.save()
    try:
        _ensure_image(podman, image, tls_verify=state.tls_verify)
        for _ in range(count):
            state.replicas.append(
                _start(podman, state, image, role="stable", ready_timeout=ready_timeout, secret=secret)
            )
            state.save()
        state.generation = 1
        start_nginx(state.folder / "nginx", listen_port=state.port, upstreams=_weights(state), generation=1)
        state.save()
    except BaseException:
        teardown(workdir)
        raise
    return state


def rolling_update(
    config: ProjectConfig, *, image: str, workdir: Path, ready_timeout: float = READY_TIMEOUT
) -> DeployState:
    """Replace the stable replicas one at a time with ``image``; if a new one never gets ready, roll back.
    The old replicas' prediction-log files stay in the deployment's log folder; the new ones write new files."""
    podman = Podman.default()
    state = load_state(workdir)
    secret = log_env(config, state.log_database)  # the state file records everything else the update needs
    old_image = state.image
    old = [r for r in state.replicas if r.role == "stable"]
    started: list[Replica] = []
    retired: list[Replica] = []
    try:
        _ensure_image(podman, image, tls_verify=state.tls_verify)
        for previous in old:
            new = _start(podman, state, image, role="stable", ready_timeout=ready_timeout, secret=secret)
            started.append(new)
            state.replicas.append(new)
            _apply(state)
            _retire(podman, state, previous)
            retired.append(previous)
    except ReleaseError as exc:
        for previous in retired:  # bring the old image back first, so the upstream never empties
            state.replicas.append(
                _start(podman, state, previous.image, role="stable", ready_timeout=ready_timeout, secret=secret)
            )
            _apply(state)
        for new in started:
            _retire(podman, state, new)
        raise RolloutFailed(
            f"rolling update to {image} failed and was rolled back to {old_image} "
            f"({len(old)} replica(s) serving): {exc}"
        ) from exc
    state.previous_image, state.image = old_image, image
    state.save()
    return state


def canary(
    config: ProjectConfig,
    *,
    image: str,
    workdir: Path,
    share: float | None = None,
    ready_timeout: float = READY_TIMEOUT,
) -> DeployState:
    """Add one replica of ``image`` that receives ``share`` of the traffic (nginx weights)."""
    share = config.release.canary_share if share is None else share
    if not 0.0 < share < 1.0:
        raise ReleaseError(f"canary share must be between 0 and 1 (exclusive), got {share}")
    podman = Podman.default()
    state = load_state(workdir)
    if any(r.role == "canary" for r in state.replicas):
        raise ReleaseError("a canary is already running; promote_canary or abort_canary first")
    secret = log_env(config, state.log_database)
    _ensure_image(podman, image, tls_verify=state.tls_verify)
    try:
        replica = _start(podman, state, image, role="canary", ready_timeout=ready_timeout, secret=secret)
    except ReleaseError as exc:
        raise RolloutFailed(f"canary {image} never became ready; serving unchanged on {state.image}: {exc}") from exc
    state.replicas.append(replica)
    state.canary_share = share
    _apply(state)
    return state


def abort_canary(config: ProjectConfig, *, workdir: Path) -> DeployState:
    del config
    podman = Podman.default()
    state = load_state(workdir)
    for replica in [r for r in state.replicas if r.role == "canary"]:
        _retire(podman, state, replica)
    state.canary_share = None
    _apply(state)
    return state


def promote_canary(config: ProjectConfig, *, workdir: Path, ready_timeout: float = READY_TIMEOUT) -> DeployState:
    """Roll the stable replicas to the canary's image, then retire the canary replica."""
    state = load_state(workdir)
    canaries = [r for r in state.replicas if r.role == "canary"]
    if not canaries:
        raise ReleaseError("no canary is running; start one with canary()")
    rolling_update(config, image=canaries[0].image, workdir=workdir, ready_timeout=ready_timeout)
    return abort_canary(config, workdir=workdir)


def rollback(config: ProjectConfig, *, workdir: Path, ready_timeout: float = READY_TIMEOUT) -> DeployState:
    """Return serving to the previous release's image (a rolling update to it)."""
    state = load_state(workdir)
    if state.previous_image is None:
        raise ReleaseError(f"{workdir}: no previous release to roll back to (serving {state.image})")
    return rolling_update(config, image=state.previous_image, workdir=workdir, ready_timeout=ready_timeout)


def reconcile(config: ProjectConfig, *, workdir: Path, ready_timeout: float = READY_TIMEOUT) -> list[str]:
    """Replace every replica whose container died or no longer answers /ready; return the replaced names."""
    podman = Podman.default()
    state = load_state(workdir)
    secret = log_env(config, state.log_database)
    replaced: list[str] = []
    for replica in list(state.replicas):
        healthy = podman.container_running(replica.name)
        if healthy:
            try:
                healthy = http_json("GET", f"http://127.0.0.1:{replica.port}/ready", timeout=2)[0] == 200
            except OSError:
                healthy = False
        if healthy:
            continue
        new = _start(podman, state, replica.image, role=replica.role, ready_timeout=ready_timeout, secret=secret)
        state.replicas.append(new)
        _apply(state)
        _retire(podman, state, replica)
        replaced.append(replica.name)
    return replaced


def teardown(workdir: Path) -> None:
    """Stop nginx and every container of this deployment (also strays not in the state file); forget the state.
    The prediction log (``<workdir>/predictions`` or the deployment's ``log_dir``) is kept."""
    folder = workdir / "deploy"
    stop_nginx(folder / "nginx")
    podman = Podman.default()
    deploy_id = hashlib.sha1(str(workdir.resolve()).encode()).hexdigest()[:8]
    listed = podman.run(
        "ps", "--all", "--filter", f"label=io.mlgate.deploy={deploy_id}", "--format", "{{.Names}}", check=False
    )
    for name in listed.stdout.split():
        podman.remove_container(name, stop_timeout=5)
    (folder / "state.json").unlink(missing_ok=True)
    if nginx_pid(folder / "nginx") is not None:
        raise ReleaseError(f"nginx under {folder / 'nginx'} did not stop")
