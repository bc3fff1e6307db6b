"""/healthz (imrsite.health): what a load balancer or a supervisor is told."""

import json
from unittest import mock

import pytest
from django.db import OperationalError, connection

from .conftest import free_port, production_get


@pytest.mark.django_db
def test_healthz_is_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-store" in response["Cache-Control"]  # never a cached "ok"


@pytest.mark.django_db
def test_healthz_is_503_with_a_reason_when_the_database_fails(client, caplog):
    failure = OperationalError('connection to server at "db.internal", port 5432 failed')
    with mock.patch.object(connection, "cursor", side_effect=failure):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"]) == ("unavailable", "unreachable")
    assert "OperationalError" in body["reason"]
    assert "db.internal" not in body["reason"]  # the details go to the log only
    assert "db.internal" in caplog.text
    assert "no-store" in response["Cache-Control"]


def test_healthz_is_503_when_the_database_is_a_closed_port():
    url = f"postgres://postgres@127.0.0.1:{free_port()}/imr"  # nothing listens there
    answer = production_get("/healthz", env={"DATABASE_URL": url})
    assert answer["status"] == 503
    assert json.loads(answer["body"])["database"] == "unreachable"


def test_healthz_in_production_answers_plain_http_and_any_host(tmp_path):
    # A load balancer probes each server over HTTP by its address: no redirect, no 400.
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    answer = production_get("/healthz", env=env, host="10.0.0.7:8000")
    assert answer["status"] == 200
    assert json.loads(answer["body"]) == {"status": "ok", "database": "ok"}
    # Every other page still redirects to HTTPS, and refuses a host it does not serve.
    assert production_get("/", env=env)["status"] == 301
    assert production_get("/", env=env, secure=True, host="10.0.0.7:8000")["status"] == 400


@pytest.mark.django_db
def test_healthz_takes_no_post(client):
    assert client.post("/healthz").status_code == 405
