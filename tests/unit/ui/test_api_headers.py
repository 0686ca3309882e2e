"""What the web UI sends the gateway on a browser's behalf."""

from __future__ import annotations

from comradarr_ui.api import SESSION_COOKIE, Session, request_headers


def test_every_call_forwards_the_browser_address() -> None:
    anonymous = request_headers("POST", Session(client_ip="203.0.113.9"))
    assert anonymous == {"Accept": "application/json", "X-Forwarded-For": "203.0.113.9"}
    signed_in = Session(cookie="c00kie", csrf="tok", client_ip="192.168.1.4")
    read = request_headers("GET", signed_in)
    assert read["X-Forwarded-For"] == "192.168.1.4"
    assert read["Cookie"] == f"{SESSION_COOKIE}=c00kie"
    assert "X-CSRF-Token" not in read  # only writes carry the token
    assert request_headers("DELETE", signed_in)["X-CSRF-Token"] == "tok"


def test_without_a_session_nothing_is_claimed() -> None:
    assert request_headers("GET", None) == {"Accept": "application/json"}
    assert "X-Forwarded-For" not in request_headers("GET", Session(cookie="c"))


def test_validation_errors_read_as_words() -> None:
    from comradarr_ui.api import in_words

    assert (
        in_words(
            ["body", "general", "log_level"],
            "Input should be 'trace', 'debug', 'info', 'warning' or 'error'",
        )
        == "Log level: choose trace, debug, info, warning or error"
    )
    assert (
        in_words(["body", "search", "max_attempts"], "Input should be less than or equal to 100")
        == "Max attempts: at most 100"
    )
    assert in_words(["body", "cron"], "Value error, not a cron") == "Cron: not a cron"
    assert in_words([], "something else") == "something else"
