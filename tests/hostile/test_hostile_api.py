"""Bad-input corpus: API payloads. Oversized, deep, duplicated, mis-encoded, numerically hostile bodies.

Each case is one raw request to ``POST /predict`` of the serving app (in process, through httpx's ASGI
transport, with the session server's limits: 1,000 records, 2,000,000 bytes) and asserts the status, the
``detail`` (a regex over its JSON text), the total error count where the answer lists errors, and that the
answer is small whatever the request (under 8 KB: the first 20 errors and a count, keys and values cut).

``benchmarks/bench_api_limits.py`` measures the same payloads against a real server process (time, answer
size, peak RSS growth); ``test_the_worst_payloads_stay_within_the_memory_bound`` holds the Python-side bound.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
import pytest

from mlgate.pipeline.artifact import file_sha256, save_model
from mlgate.pipeline.candidate import load_data
from mlgate.pipeline.config import ModelSettings, load_config
from mlgate.pipeline.serve import create_app
from mlgate.pipeline.serve.body import NOT_UTF8
from mlgate.pipeline.signing import sign_model
from mlgate.pipeline.train import build_pipeline

ROOT = Path(__file__).resolve().parents[2]
MAX_BATCH, MAX_BODY = 1_000, 2_000_000
SMALL = 8_192  # bytes: no answer is larger
GOOD = {
    "sex": "female",
    "job": "2",
    "housing": "own",
    "saving_accounts": None,
    "checking_account": "little",
    "credit_amount": 5943,
    "duration": 24,
    "purpose": "radio/TV",
    "age": 44,
}
JSON = {"content-type": "application/json"}


def j(value: Any) -> bytes:
    return json.dumps(value).encode()


def good_with(raw_age: str) -> bytes:
    """GOOD with a literal for ``age`` that json.dumps would not write (NaN, 1e400, duplicate keys...)."""
    return j(GOOD).replace(b'"age": 44', b'"age": ' + raw_age.encode())


DUPLICATE_IN_RECORD = (
    b'{"records": [' + j(GOOD) + b", " + j(GOOD).replace(b'"sex": "female"', b'"sex": "a", "sex": "b"') + b"]}"
)

SURROGATE_KEYS = b"{" + b"".join(b'"\\ud800%d": 1, ' % i for i in range(25)) + j(GOOD)[1:]  # JSON-legal, not UTF-8-able

# (id, body, headers, status, regex over json.dumps(detail), errors_total or None)
CASES: list[tuple[str, bytes, dict[str, str], int, str, int | None]] = [
    (
        "oversized-body",
        b"{" + b" " * MAX_BODY + b"}",
        JSON,
        413,
        rf"request body of {MAX_BODY + 2} bytes exceeds the limit of {MAX_BODY} bytes",
        None,
    ),
    ("string-of-10MB-in-a-field", j({**GOOD, "sex": "x" * 10_000_000}), JSON, 413, r"exceeds the limit of", None),
    (
        "100k-unknown-keys",
        j({**GOOD, **{f"k{i}": 1 for i in range(100_000)}}),
        JSON,
        422,
        r'^\[\{"loc": \["body", "k0"\], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"\}',
        100_000,
    ),
    (
        "10k-deep-nesting",
        b"[" * 10_000 + b"]" * 10_000,
        JSON,
        422,
        r'"loc": \["body", 32\], "msg": "JSON nested deeper than 32 levels \(at character 32\)", '
        r'"type": "json_too_deep"',
        1,
    ),
    ("33-deep-in-a-field", good_with("[" * 33 + "]" * 33), JSON, 422, r"JSON nested deeper than 32 levels", 1),
    (
        "duplicate-key-top-level",
        good_with('44, "age": 45'),
        JSON,
        422,
        r'"loc": \["body", "age"\], "msg": "duplicate key \'age\': a key may appear only once',
        1,
    ),
    (
        "duplicate-key-inside-a-record",
        DUPLICATE_IN_RECORD,
        JSON,
        422,
        r'"loc": \["body", "records", 1, "sex"\], "msg": "duplicate key \'sex\'',
        1,
    ),
    (
        "duplicate-records-key",
        b'{"records": [], "records": [' + j(GOOD) + b"]}",
        JSON,
        422,
        r'"loc": \["body", "records"\], "msg": "duplicate key \'records\'',
        1,
    ),
    ("duplicate-key-deeper", good_with('{"a": 1, "a": 2}'), JSON, 422, r'"loc": \["body", "age", "a"\]', 1),
    ("not-utf8", b'{"sex": "\xff\xfe"}', JSON, 400, rf"^{re.escape(json.dumps(NOT_UTF8))}$", None),
    ("utf16-with-bom", json.dumps(GOOD).encode("utf-16"), JSON, 400, r"UTF-16 text; send JSON as UTF-8", None),
    ("utf16-without-bom", json.dumps(GOOD).encode("utf-16-le"), JSON, 400, r"UTF-16 text", None),
    ("utf32", json.dumps(GOOD).encode("utf-32"), JSON, 400, r"UTF-32 text", None),
    (
        "nan-literal",
        good_with("NaN"),
        JSON,
        422,
        r'"loc": \["body", "age"\], "msg": "Input should be a valid integer',
        1,
    ),
    ("infinity-literal", good_with("-Infinity"), JSON, 422, r'"loc": \["body", "age"\]', 1),
    ("number-1e400", good_with("1e400"), JSON, 422, r'"loc": \["body", "age"\]', 1),
    (
        "20-digit-integer",
        good_with("12345678901234567890"),
        JSON,
        422,
        r'"loc": \["body", "age"\], "msg": "Input should be less than or equal to 100"',
        1,
    ),
    (
        "5000-digit-integer",
        good_with("9" * 5000),
        JSON,
        422,
        r'"msg": "JSON number too long: Exceeds the limit \(4300 digits\)',
        1,
    ),
    (
        "1MB-string-value",
        j({**GOOD, "sex": "x" * 1_000_000}),
        JSON,
        422,
        r'"loc": \["body", "sex"\], "msg": "Input should be \'female\' or \'male\'"',
        1,
    ),
    ("1MB-key", j({**GOOD, "k" * 1_000_000: 1}), JSON, 422, r'"loc": \["body", "k{57}\.\.\."\]', 1),
    (
        "lone-surrogate-key",
        b'{"\\ud800": 1, ' + j(GOOD)[1:],
        JSON,
        422,
        r'"loc": \["body"\], "msg": "Input should be a valid string, unable to parse raw data as a unicode string"',
        1,
    ),
    ("25-lone-surrogate-keys", SURROGATE_KEYS, JSON, 422, r'"loc": \["body", "\\\\ud8000"\]', 25),
    ("empty-body", b"", {}, 422, r'^\[\{"loc": \["body"\], "msg": "Field required", "type": "missing"\}\]$', 1),
    (
        "wrong-content-type",
        j(GOOD),
        {"content-type": "text/plain"},
        415,
        r"Content-Type 'text/plain' is not JSON; send the body as application/json",
        None,
    ),
    ("no-content-type", j(GOOD), {"content-type": ""}, 415, r"Content-Type 'missing' is not JSON", None),
    (
        "json-array-at-top-level",
        j([GOOD]),
        JSON,
        422,
        r'"loc": \["body"\], "msg": "the body must be a JSON object: one record, or \{\\"records\\"',
        1,
    ),
    ("json-null", b"null", JSON, 422, r"the body must be a JSON object", 1),
    (
        "records-empty",
        j({"records": []}),
        JSON,
        422,
        r'"loc": \["body", "records"\], "msg": "List should have at least 1 item',
        1,
    ),
    (
        "batch-over-the-limit",
        j({"records": [GOOD] * (MAX_BATCH + 1)}),
        JSON,
        413,
        rf"batch of {MAX_BATCH + 1} records exceeds the limit of {MAX_BATCH} records per request",
        None,
    ),
    (
        "null-record",
        j({"records": [GOOD, None]}),
        JSON,
        422,
        r'"loc": \["body", "records", 1\], "msg": "Input should be a valid dictionary',
        1,
    ),
    ("unknown-key-beside-records", j({"records": [GOOD], "extra": 1}), JSON, 422, r'"loc": \["body", "extra"\]', 1),
    (
        "1000-empty-records",
        j({"records": [{}] * MAX_BATCH}),
        JSON,
        422,
        r'^\[\{"loc": \["body", "records", 0, "sex"\], "msg": "Field required"',
        9 * MAX_BATCH,
    ),
    (
        "600k-values",
        b"[" + b"0," * 600_000 + b"0]",
        JSON,
        413,
        r"request body holds 600001 JSON values, more than",
        None,
    ),
    ("20k-objects", b"[" + b"{}," * 20_000 + b"{}]", JSON, 413, r"holds 20002 JSON objects or arrays", None),
    ("truncated-json", j(GOOD)[:-5], JSON, 422, r'"msg": "JSON decode error: Expecting', 1),
]
GOOD_CASES = [
    ("one-record", j(GOOD), JSON),
    ("full-batch", j({"records": [GOOD] * MAX_BATCH}), JSON),
    ("utf8-bom", b"\xef\xbb\xbf" + j(GOOD), JSON),
    ("charset-parameter", j(GOOD), {"content-type": "application/json; charset=utf-8"}),
    ("json-suffix-type", j(GOOD), {"content-type": "application/vnd.mlgate+json"}),
    ("30-deep-is-a-type-error-not-a-depth-error", good_with("[" * 30 + "]" * 30), JSON),
]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A signed bundle of a quickly fitted German credit model (the app trusts the session key)."""
    data = load_data(load_config(ROOT / "mlgate.toml"))
    prepared = data.prepared
    settings = ModelSettings(estimator="logistic_regression", params={"C": 0.1, "max_iter": 1000})
    model = build_pipeline(settings, prepared.numeric, prepared.categorical, random_state=0)
    model.fit(data.split.train[prepared.features], data.split.y_train)
    folder = tmp_path_factory.mktemp("api-bundle")
    path = folder / "model.skops"
    sha = save_model(model, path, features=prepared.features, numeric=prepared.numeric,
                     categorical=prepared.categorical, threshold=0.5, positive_label=1)  # fmt: skip
    meta_sha = file_sha256(folder / "model.meta.json")
    shutil.copy2(ROOT / "schemas" / "german_credit.schema.yaml", folder / "schema.yaml")
    release = {"model_name": "german-credit", "model_version": "1", "run_id": "run-1", "model_sha256": sha}
    release["model_signature"] = sign_model(sha, meta_sha256=meta_sha, model_name="german-credit", run_id="run-1")
    (folder / "release.json").write_text(json.dumps(release))
    return folder


async def _post(bundle: Path, body: bytes, headers: dict[str, str]) -> httpx.Response:
    app = create_app(bundle, max_batch=MAX_BATCH, max_body_bytes=MAX_BODY)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            assert (await client.get("/ready")).status_code == 200
            return await client.post("/predict", content=body, headers=headers)


def post(bundle: Path, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return asyncio.run(_post(bundle, body, headers))


@pytest.mark.parametrize(
    ("body", "headers", "status", "pattern", "total"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_bad_payload_gets_its_status_and_a_small_detail(bundle, body, headers, status, pattern, total) -> None:
    response = post(bundle, body, headers)
    assert response.status_code == status, response.text[:2000]
    assert len(response.content) < SMALL, f"{len(response.content)} bytes answered"
    answer = response.json()
    detail = json.dumps(answer["detail"])
    assert re.search(pattern, detail), detail[:2000]
    if isinstance(answer["detail"], list):
        assert answer["errors_total"] == total
        assert len(answer["detail"]) == min(total, 20)
        assert all(set(error) == {"loc", "msg", "type"} for error in answer["detail"])  # no echoed input
    else:
        assert total is None and set(answer) == {"detail"}


@pytest.mark.parametrize(("body", "headers"), [pytest.param(*case[1:], id=case[0]) for case in GOOD_CASES])
def test_good_payload_is_answered(bundle, body, headers) -> None:
    response = post(bundle, body, headers)
    if b"[[[" in body:  # the known-good side of the depth limit: parsed, then refused by the types
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "age"]
        return
    assert response.status_code == 200, response.text[:2000]
    answer = response.json()
    assert "probability" in answer or len(answer["predictions"]) == MAX_BATCH


WORST = ["100k-unknown-keys", "1000-empty-records", "600k-values", "1MB-string-value", "10k-deep-nesting"]


@pytest.mark.parametrize("case_id", WORST)
def test_the_worst_payloads_stay_within_the_memory_bound(bundle, case_id: str) -> None:
    """Python-side peak allocation while answering (tracemalloc; pydantic's own Rust allocations are measured
    as process RSS by benchmarks/bench_api_limits.py): at most 16x the body plus 16 MiB, and well under 2 s."""
    _, body, headers, status, _, _ = next(case for case in CASES if case[0] == case_id)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        response = post(bundle, body, headers)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    print(f"{case_id}: {len(body)} bytes -> {response.status_code}, {len(response.content)} bytes answered, "
          f"peak {peak / 2**20:.1f} MiB (traced), {elapsed:.2f} s")  # fmt: skip
    assert response.status_code == status
    assert peak < 16 * len(body) + 16 * 2**20, f"peak {peak / 2**20:.1f} MiB for a {len(body)}-byte body"
