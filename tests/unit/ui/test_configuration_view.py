"""The import form: which secrets an exported file needs, and the body sent to the gateway."""

from __future__ import annotations

from comradarr_ui.configuration import SecretRow, import_body, needed_secrets


def test_every_connector_and_channel_asks_for_its_secret() -> None:
    doc = {
        "connectors": [{"type": "sonarr", "name": "TV"}, {"name": ""}, "junk"],
        "notification_channels": [{"name": "Hook", "kind": "apprise"}],
    }
    rows = needed_secrets(doc)
    assert [(r.kind, r.name) for r in rows] == [("connector", "TV"), ("channel", "Hook")]
    assert needed_secrets(["not", "a", "document"]) == []


def test_the_body_carries_the_secrets_by_name() -> None:
    rows = [SecretRow("connector", "TV", "", " key "), SecretRow("channel", "Hook", "", "json://x")]
    body = import_body({"connectors": []}, rows, "pw")
    assert body["secrets"] == {
        "connectors": {"TV": "key"},
        "channels": {"Hook": {"url": "json://x"}},
    }
    assert body["current_password"] == "pw"
