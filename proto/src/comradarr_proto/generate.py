"""Write (or check) the JSON Schema of every message and the AsyncAPI document.

Run `python -m comradarr_proto.generate` to refresh, `--check` to fail when stale.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import ALL_MESSAGES, COMMANDS_STREAM, EVENTS_STREAM

PREFIX = "comradarr"
OUT = Path(__file__).resolve().parents[2] / "generated"


def _schema(model: Any) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(mode="serialization")
    schema["$id"] = f"https://comradarr.dev/schemas/{model.__name__}.json"
    return schema


def render() -> dict[str, str]:
    """File name → content of every generated artefact."""
    files: dict[str, str] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for model in ALL_MESSAGES:
        name = model.__name__
        files[f"schemas/{name}.json"] = json.dumps(_schema(model), indent=2, sort_keys=True) + "\n"
        address = model.subject_filter(PREFIX)
        params = {
            part.strip("{}"): {"description": f"The message's {part.strip('{}')}."}
            for part in model.subject_template.split(".")
            if part.startswith("{")
        }
        channel_address = f"{PREFIX}.{model.subject_template}"
        channel: dict[str, Any] = {
            "address": channel_address,
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "description": (model.__doc__ or "").strip(),
        }
        if params:
            channel["parameters"] = params
        stream = COMMANDS_STREAM if model.kind == "command" else EVENTS_STREAM
        channel["bindings"] = {"nats": {"bindingVersion": "0.1.0", "queue": stream.suffix}}
        channels[name] = channel
        operations[f"publish{name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{name}"},
            "summary": f"{model.kind} on {address}",
        }
        messages[name] = {
            "name": name,
            "title": name,
            "summary": (model.__doc__ or "").strip(),
            "contentType": "application/json",
            "headers": {
                "type": "object",
                "properties": {
                    "Nats-Msg-Id": {"type": "string", "description": "equals message_id"},
                    "Comradarr-Type": {"type": "string", "const": name},
                },
            },
            "payload": {"$ref": f"./schemas/{name}.json"},
        }
    doc = {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Comradarr messages",
            "version": "1.0.0",
            "description": (
                "Commands (work queue, stream <PREFIX>_COMMANDS) and events (fan-out, stream "
                "<PREFIX>_EVENTS) exchanged by Comradarr's services over NATS JetStream. "
                "Subjects start with the configured prefix (default 'comradarr'). Write your "
                "own subscriber with a durable consumer on the events stream."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }
    files["asyncapi.json"] = json.dumps(doc, indent=2, sort_keys=True) + "\n"
    return files


def main(argv: list[str] | None = None) -> int:
    """Write the files, or with --check report stale ones and exit 1."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the files are stale")
    args = parser.parse_args(argv)
    stale = []
    wanted = render()
    for rel, content in wanted.items():
        path = OUT / rel
        current = path.read_text("utf-8") if path.exists() else None
        if current == content:
            continue
        stale.append(rel)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, "utf-8")
    extra = [
        p.relative_to(OUT).as_posix()
        for p in OUT.rglob("*.json")
        if p.relative_to(OUT).as_posix() not in wanted
    ]
    if args.check:
        if stale or extra:
            print(
                "proto/generated is stale: " + ", ".join(stale + extra),
                "\nrun: uv run python -m comradarr_proto.generate",
                file=sys.stderr,
            )
            return 1
        return 0
    for rel in extra:
        (OUT / rel).unlink()
    print(f"wrote {len(stale)} file(s), removed {len(extra)} under {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
