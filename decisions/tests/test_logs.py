"""Log lines as JSON (imrsite.logs): what a log collector reads of each record."""

import datetime as dt
import io
import json
import logging

import pytest
from gunicorn.config import Config

from imrsite.gunicorn_conf import JsonLogger
from imrsite.logs import JsonFormatter


@pytest.fixture
def json_lines():
    """Records of every logger, formatted as production formats them; the lines, parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_a_record_is_one_json_object_with_time_level_logger_and_message(json_lines):
    logging.getLogger("decisions.facet_index").info(
        "facet index built: %d items", 3200, extra={"seconds": 0.25}
    )
    [line] = json_lines()
    assert line["level"] == "INFO"
    assert line["logger"] == "decisions.facet_index"
    assert line["message"] == "facet index built: 3200 items"
    assert line["seconds"] == 0.25  # what the call passed in extra
    written = dt.datetime.fromisoformat(line["time"])
    assert written.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(dt.UTC) - written) < dt.timedelta(minutes=1)


def test_an_exception_stays_on_its_line(json_lines):
    try:
        raise ValueError("a letter without a case number")
    except ValueError:
        logging.getLogger("decisions").exception("ingest failed")
    [line] = json_lines()
    assert line["level"] == "ERROR"
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert "ValueError: a letter without a case number" in line["exception"]


@pytest.mark.django_db
def test_a_request_django_logs_carries_its_method_path_and_status(client, json_lines):
    client.get("/letters/no-such-letter/?q=x")
    line = next(line for line in json_lines() if line["logger"] == "django.request")
    assert line["level"] == "WARNING"
    assert (line["method"], line["path"], line["status"]) == (
        "GET",
        "/letters/no-such-letter/",
        404,
    )


class _Response:
    status = "200 OK"
    sent = 8848
    headers = [("Content-Type", "text/html")]


def test_gunicorns_access_log_carries_the_requests_fields(capsys):
    cfg = Config()
    cfg.set("accesslog", "-")
    logger = JsonLogger(cfg)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/?outcome=overturned",
        "PATH_INFO": "/",
        "QUERY_STRING": "outcome=overturned",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_USER_AGENT": "curl/8",
    }
    logger.access(_Response(), [], environ, dt.timedelta(seconds=1, microseconds=234567))
    [line] = [json.loads(row) for row in capsys.readouterr().out.splitlines()]
    assert line["logger"] == "gunicorn.access"
    assert '"GET /?outcome=overturned HTTP/1.1" 200 8848' in line["message"]
    assert line["method"] == "GET"
    assert line["path"] == "/"
    assert line["query"] == "outcome=overturned"
    assert line["status"] == 200
    assert line["duration_ms"] == 1234.6
    assert line["bytes"] == 8848
    assert line["remote_addr"] == "127.0.0.1"
