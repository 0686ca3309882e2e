"""Channel forms → Apprise URLs. Cloud-only kinds are checked by the URL they build (and that
Apprise accepts it), never over the network."""

from __future__ import annotations

from datetime import UTC, datetime

import apprise
import pytest
from comradarr_channels import (
    EVENT_KINDS,
    KINDS,
    QuietHours,
    build_url,
    mask_url,
    masked_fields,
    merge_fields,
    normalise_events,
    scrub,
    secrets_of,
    validate_url,
)

pytestmark = pytest.mark.unit

CASES = [
    (
        "discord",
        {
            "webhook_url": "https://discord.com/api/webhooks/1234567890/AbC-dEf_123",
            "username": "Bot",
        },
        "discord://1234567890/AbC-dEf_123/?botname=Bot",
    ),
    (
        "telegram",
        {"bot_token": "123456789:AAFakeTokenValue_x", "chat_id": "-1001234567890"},
        "tgram://123456789:AAFakeTokenValue_x/-1001234567890/",
    ),
    (
        "slack",
        {"webhook_url": "https://hooks.slack.com/services/T0001/B0002/XyZsecret"},
        "slack://T0001/B0002/XyZsecret/",
    ),
    (
        "pushover",
        {
            "user_key": "uQiRzpo4DXghDmr9QzzfQu27cmVRsG",
            "app_token": "azGDORePK8gMaC0QOYAMyEEuzJnyUi",
        },
        "pover://uQiRzpo4DXghDmr9QzzfQu27cmVRsG@azGDORePK8gMaC0QOYAMyEEuzJnyUi/",
    ),
    (
        "gotify",
        {"server_url": "https://push.example.com/gotify", "app_token": "AbCdEf123"},
        "gotifys://push.example.com/gotify/AbCdEf123/?priority=normal",
    ),
    ("ntfy", {"topic": "my-alerts"}, "ntfys://ntfy.sh/my-alerts/"),
    (
        "ntfy",
        {"server_url": "http://127.0.0.1:8080", "topic": "t1", "access_token": "tk_abc"},
        "ntfy://127.0.0.1:8080/t1/?token=tk_abc",
    ),
    (
        "email",
        {
            "smtp_host": "smtp.example.com",
            "smtp_port": "465",
            "security": "ssl",
            "username": "me@example.com",
            "password": "p@ss word",
            "from_address": "me@example.com",
            "to_addresses": "a@example.com, b@example.com",
        },
        "mailtos://me%40example.com:p%40ss%20word@smtp.example.com:465"
        "?from=me%40example.com&to=a%40example.com%2Cb%40example.com&mode=ssl",
    ),
    ("webhook", {"url": "https://hooks.example.com/in/abc"}, "jsons://hooks.example.com/in/abc"),
    ("apprise", {"url": "matrix://user:pass@matrix.example.com/#room"}, None),
]


@pytest.mark.parametrize(("kind", "fields", "url"), CASES)
def test_each_form_builds_a_url_apprise_accepts(
    kind: str, fields: dict[str, str], url: str | None
) -> None:
    built = build_url(kind, fields)
    if url is not None:
        assert built == url
    validate_url(built)
    assert apprise.Apprise.instantiate(built) is not None


@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        ("discord", {"webhook_url": "https://example.com/x"}, "discord.com/api/webhooks"),
        ("telegram", {"bot_token": "nocolon", "chat_id": "1"}, "BotFather"),
        ("slack", {"webhook_url": ""}, "Webhook URL is required"),
        ("gotify", {"server_url": "ftp://x", "app_token": "a"}, "http(s) URL"),
        ("ntfy", {"topic": "has space"}, "Topic"),
        ("email", {"smtp_host": "h", "from_address": "x", "to_addresses": "y@z"}, "not an e-mail"),
        ("webhook", {"url": "http://user:pw@host/x"}, "credentials"),
        ("webhook", {"url": "http://h/x", "bogus": "1"}, "unknown field"),
        ("carrier-pigeon", {}, "unknown channel kind"),
    ],
)
def test_bad_forms_say_what_is_wrong(kind: str, fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_url(kind, fields)


def test_an_unknown_apprise_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="does not understand"):
        validate_url("nosuchservice://abc")


def test_secrets_are_masked_to_their_last_four() -> None:
    fields = {"bot_token": "123456789:AAFakeTokenValue_x", "chat_id": "-1001234567890"}
    assert masked_fields("telegram", fields) == {
        "bot_token": "****ue_x",
        "chat_id": "-1001234567890",
    }
    assert mask_url("tgram://123456789:AAFakeTokenValue_x/-100123/") == "tgram://****123/"
    # An edit that leaves a secret empty or masked keeps the stored one.
    merged = merge_fields("telegram", {"bot_token": "****ue_x", "chat_id": "5"}, fields)
    assert merged == {"bot_token": fields["bot_token"], "chat_id": "5"}


def test_scrub_removes_every_secret_part_of_a_url() -> None:
    url = "json://user:hunter2pass@127.0.0.1:8080/path/s3cr3t-token?key=qwertyuiop"
    text = f"failed posting to {url}: /path/s3cr3t-token hunter2pass qwertyuiop"
    scrubbed = scrub(text, secrets_of(url))
    for secret in ("s3cr3t-token", "hunter2pass", "qwertyuiop"):
        assert secret not in scrubbed


def test_event_lists() -> None:
    assert normalise_events(None) == [] and normalise_events(["all"]) == []
    assert normalise_events(["search_found", "connector_offline", "search_found"]) == [
        "connector_offline",
        "search_found",
    ]
    with pytest.raises(ValueError, match="unknown event kind"):
        normalise_events(["nope"])
    assert {k.key for k in EVENT_KINDS} >= {"search_found", "connector_auth_failed"}
    assert set(KINDS) == {
        "discord",
        "telegram",
        "slack",
        "pushover",
        "gotify",
        "ntfy",
        "email",
        "webhook",
        "apprise",
    }


@pytest.mark.parametrize(
    ("utc", "until"),
    [
        (datetime(2026, 1, 10, 20, 59, tzinfo=UTC), None),  # 21:59 Berlin
        (datetime(2026, 1, 10, 21, 0, tzinfo=UTC), datetime(2026, 1, 11, 6, 0, tzinfo=UTC)),
        (datetime(2026, 1, 11, 5, 59, tzinfo=UTC), datetime(2026, 1, 11, 6, 0, tzinfo=UTC)),
        (datetime(2026, 1, 11, 6, 0, tzinfo=UTC), None),
        # Summer time: 22:30 CEST is 20:30 UTC; quiet ends 07:00 CEST = 05:00 UTC.
        (datetime(2026, 7, 10, 20, 30, tzinfo=UTC), datetime(2026, 7, 11, 5, 0, tzinfo=UTC)),
    ],
)
def test_quiet_hours_across_midnight(utc: datetime, until: datetime | None) -> None:
    quiet = QuietHours.model_validate(
        {"start": "22:00", "end": "07:00", "timezone": "Europe/Berlin"}
    )
    assert quiet.quiet_until(utc) == until


def test_quiet_hours_within_a_day_and_validation() -> None:
    q = QuietHours.model_validate({"start": "12:00", "end": "13:30"})
    assert q.quiet_until(datetime(2026, 1, 1, 12, 15, tzinfo=UTC)) == datetime(
        2026, 1, 1, 13, 30, tzinfo=UTC
    )
    assert q.quiet_until(datetime(2026, 1, 1, 13, 30, tzinfo=UTC)) is None
    with pytest.raises(ValueError, match="time zone"):
        QuietHours.model_validate({"start": "12:00", "end": "13:00", "timezone": "Mars/Olympus"})
    with pytest.raises(ValueError, match="same time"):
        QuietHours.model_validate({"start": "12:00", "end": "12:00"})
