"""The local stack's moto launcher changes how fast moto answers, never what."""

from __future__ import annotations

import logging

import moto.backends

from tools.local.moto_server import tune_moto


def test_tuned_moto_lists_the_same_modules_and_logs_no_access_lines() -> None:
    before = list(moto.backends.list_of_moto_modules())
    original = moto.backends.list_of_moto_modules
    try:
        tune_moto()
        assert list(moto.backends.list_of_moto_modules()) == before
        assert {"dynamodb", "sqs", "s3"} <= set(moto.backends.list_of_moto_modules())
        assert not logging.getLogger("werkzeug").isEnabledFor(logging.INFO)
    finally:
        moto.backends.list_of_moto_modules = original
