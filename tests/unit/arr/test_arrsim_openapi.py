"""Every simulator answer validates against the app's own OpenAPI document."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from comradarr_arrsim import (
    DEFAULT_REFERENCE,
    FLAVORS,
    Behaviour,
    Flavor,
    LibrarySpec,
    ManualClock,
    Simulator,
)
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

pytestmark = pytest.mark.unit

OPENAPI_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "arr-openapi"
KEY = "openapi-test-key"

if not OPENAPI_DIR.is_dir():
    pytest.skip(f"OpenAPI documents not found at {OPENAPI_DIR}", allow_module_level=True)

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
FORMATS = FormatChecker()


@FORMATS.checks("date-time")
def _is_date_time(value: object) -> bool:
    # The apps' wire format: yyyy-MM-ddTHH:mm:ssZ.
    return not isinstance(value, str) or bool(_DATE_TIME.match(value))


def _to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects → JSON Schema 2020-12 (``nullable`` → a null type)."""
    if isinstance(node, list):
        return [_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        elif "$ref" in out or "allOf" in out:
            inner = {k: out.pop(k) for k in ("$ref", "allOf") if k in out}
            out["anyOf"] = [inner, {"type": "null"}]
    return out


@cache
def _document(name: str) -> dict[str, Any]:
    doc = json.loads((OPENAPI_DIR / name).read_text())
    converted: dict[str, Any] = _to_json_schema(doc)
    # SOURCES.md: the documents leave out the shape of each command body; the apps send
    # the concrete command (episodeIds, movieIds, ...), so only this object is opened up.
    converted["components"]["schemas"]["Command"]["additionalProperties"] = True
    return converted


def _validator(doc_name: str, schema: dict[str, Any]) -> Draft202012Validator:
    uri = f"urn:arr-openapi:{doc_name}"
    registry: Registry[Any] = Registry().with_resource(
        uri, Resource.from_contents(_document(doc_name), default_specification=DRAFT202012)
    )
    return Draft202012Validator(
        _rebase(schema, uri),
        registry=registry,
        format_checker=FORMATS,
    )


def _rebase(schema: Any, uri: str) -> Any:
    # Refs in the response schema are document-relative ("#/components/..."): anchor them.
    if isinstance(schema, dict):
        return {
            k: (
                f"{uri}{v}"
                if k == "$ref" and isinstance(v, str) and v.startswith("#")
                else _rebase(v, uri)
            )
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(s, uri) for s in schema]
    return schema


def response_schema(doc_name: str, template: str, method: str) -> dict[str, Any]:
    """The 2xx JSON schema of one operation, as the document states it."""
    operation = _document(doc_name)["paths"][template][method.lower()]
    for code in ("200", "201", "202"):
        response = operation["responses"].get(code)
        if response and response.get("content"):
            content = response["content"]
            media = content.get("application/json") or next(iter(content.values()))
            schema: dict[str, Any] = media["schema"]
            return schema
    raise AssertionError(f"{doc_name} {method} {template}: no 2xx JSON response")


def assert_valid(doc_name: str, schema: dict[str, Any], data: Any, what: str) -> None:
    """Fail with every schema violation listed."""
    errors = sorted(_validator(doc_name, schema).iter_errors(data), key=lambda e: list(e.path))
    messages = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10]]
    assert not errors, f"{what} does not match {doc_name}:\n" + "\n".join(messages)


def make_sim(flavor: Flavor) -> tuple[Simulator, ManualClock]:
    clock = ManualClock(start=DEFAULT_REFERENCE)
    sim = Simulator(
        flavor=flavor,
        api_key=KEY,
        spec=LibrarySpec(series=4, seasons=2, episodes_per_season=6, movies=30, specials=2),
        behaviour=Behaviour(find_probability=1.0, command_duration=1, import_delay=1),
        clock=clock,
    )
    sim.health_checks = [
        {"source": "IndexerStatusCheck", "type": "warning", "message": "Indexers unavailable"},
        {"source": "UpdateCheck", "type": "error", "message": "Cannot install update"},
    ]
    return sim, clock


async def _fetch(client: httpx.AsyncClient, method: str, url: str, **kw: Any) -> Any:
    response = await client.request(method, url, headers={"X-Api-Key": KEY}, **kw)
    assert response.is_success, f"{method} {url}: {response.status_code}"
    return response.json()


@pytest.mark.parametrize("flavor", list(Flavor), ids=lambda f: f.value)
async def test_every_answer_matches_the_openapi_document(flavor: Flavor) -> None:
    info = FLAVORS[flavor]
    doc = info.openapi
    api = info.api_base
    sim, clock = make_sim(flavor)
    checked: list[str] = []
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:

        async def check(method: str, url: str, template: str, **kw: Any) -> Any:
            data = await _fetch(client, method, url, **kw)
            assert_valid(doc, response_schema(doc, template, method), data, f"{method} {url}")
            checked.append(template)
            return data

        await check("GET", "/ping", "/ping")
        await check("GET", f"{api}/system/status", f"{api}/system/status")
        await check("GET", f"{api}/health", f"{api}/health")
        if info.shape == "indexer":
            indexers = await check("GET", f"{api}/indexer", f"{api}/indexer")
            statuses = await check("GET", f"{api}/indexerstatus", f"{api}/indexerstatus")
            stats = await check("GET", f"{api}/indexerstats", f"{api}/indexerstats")
            assert indexers and statuses and stats["indexers"]
            sim.health_checks = None  # Prowlarr's own check over its indexers
            health = await check("GET", f"{api}/health", f"{api}/health")
            assert health[0]["source"] == "IndexerStatusCheck"
            return
        profiles = await check("GET", f"{api}/qualityprofile", f"{api}/qualityprofile")
        assert any(p["cutoffFormatScore"] > 0 and p["formatItems"] for p in profiles)
        await check("GET", f"{api}/queue/status", f"{api}/queue/status")
        if info.shape == "series":
            series = await check("GET", f"{api}/series", f"{api}/series")
            await check("GET", f"{api}/series/{series[0]['id']}", f"{api}/series/{{id}}")
            flag = (
                {"includeSubresources": "episodeFile"}
                if api == "/api/v5"
                else {"includeEpisodeFile": "true"}
            )
            episodes = await check(
                "GET", f"{api}/episode", f"{api}/episode", params={"seriesId": 1, **flag}
            )
            assert any("episodeFile" in e for e in episodes)
        else:
            movies = await check("GET", f"{api}/movie", f"{api}/movie")
            assert any("movieFile" in m for m in movies)
        for kind in ("missing", "cutoff"):
            url = f"{api}/wanted/{kind}"
            params = {"page": 1, "pageSize": 5, "monitored": "true"}
            if info.eros:
                # SOURCES.md: Eros serves wanted/* but its document predates them, so the
                # envelope is checked with Radarr's and each record with Eros' MovieResource.
                data = await _fetch(client, "GET", url, params=params)
                radarr = FLAVORS[Flavor.RADARR_V3].openapi
                envelope = {**data, "records": []}
                assert_valid(radarr, response_schema(radarr, url, "GET"), envelope, url)
                movie_schema = {"$ref": "#/components/schemas/MovieResource"}
                for record in data["records"]:
                    assert_valid(doc, movie_schema, record, f"{url} record")
                checked.append(url)
            else:
                data = await check("GET", url, url, params=params)
            assert data["records"], f"{url} should not be empty for this library"
            wanted_ids = [r["id"] for r in data["records"]]
        name, ids = ("EpisodeSearch", "episodeIds")
        if info.shape == "movie":
            name, ids = ("MoviesSearch", "movieIds")
        body = {"name": name, ids: wanted_ids}
        created = await check("POST", f"{api}/command", f"{api}/command", json=body)
        clock.advance(1.5)  # started
        await check("GET", f"{api}/command/{created['id']}", f"{api}/command/{{id}}")
        clock.advance(5)  # completed, and the found items imported
        done = await check("GET", f"{api}/command/{created['id']}", f"{api}/command/{{id}}")
        assert done["status"] == "completed"
        await check("GET", f"{api}/command", f"{api}/command")
        history = await check(
            "GET",
            f"{api}/history/since",
            f"{api}/history/since",
            params={"date": "2025-01-01T00:00:00Z"},
        )
        assert {h["eventType"] for h in history} == {"grabbed", "downloadFolderImported"}
    assert len(checked) >= 12


async def test_facts_the_documents_leave_out() -> None:
    # SOURCES.md: /ping is anonymous, 401 has an empty body, POST /command answers 201.
    sim, _ = make_sim(Flavor.SONARR_V3)
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        ping = await client.get("/ping")
        assert ping.status_code == 200 and ping.json() == {"status": "OK"}
        denied = await client.get("/api/v3/series", headers={"X-Api-Key": "wrong"})
        assert denied.status_code == 401 and denied.content == b""
        missing = await client.get("/api/v3/series")
        assert missing.status_code == 401 and missing.content == b""
        created = await client.post(
            "/api/v3/command",
            headers={"X-Api-Key": KEY},
            json={"name": "EpisodeSearch", "episodeIds": [1]},
        )
        assert created.status_code == 201
        assert created.json()["body"]["episodeIds"] == [1]
        assert created.json()["status"] == "queued"


def test_documents_are_the_recorded_copies() -> None:
    names = {info.openapi for info in FLAVORS.values()}
    for name in names:
        doc = _document(name)
        assert "paths" in doc and "components" in doc, name
    assert _document("sonarr-v3.openapi.json")["info"]["title"] == "Sonarr"


def test_the_validation_itself_is_strict() -> None:
    # Guards the guard: unknown fields and wrong types must fail against the documents.
    doc = "sonarr-v3.openapi.json"
    schema = response_schema(doc, "/api/v3/series", "GET")
    with pytest.raises(AssertionError, match="Additional properties"):
        assert_valid(doc, schema, [{"id": 1, "notAField": True}], "extra field")
    with pytest.raises(AssertionError, match="is not of type"):
        assert_valid(doc, schema, [{"id": "one"}], "wrong type")
    with pytest.raises(AssertionError, match="does not match"):
        assert_valid(doc, schema, [{"id": 1, "added": "2025-01-01 10:00"}], "bad date")
