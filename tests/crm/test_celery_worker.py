from __future__ import annotations

import uuid

import pytest

from crm.models import User
from crm.tasks import ping_database
from tests.support.processes import celery_worker


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task_against_postgresql_and_returns_through_redis(tmp_path):
    User.objects.create_user("committed-row")
    token = uuid.uuid4().hex
    with celery_worker(log_path=tmp_path / "worker.log") as (queue, proc):
        result = ping_database.apply_async(args=[token], queue=queue)
        value = result.get(timeout=60)
        assert proc.poll() is None
    from django.db import connection

    assert value == {"database": connection.settings_dict["NAME"], "token": token}
