from pathlib import Path

import pytest

from rag.config import ConfigError, Settings


def test_defaults_then_environment_then_arguments():
    env = {"KAYNAK_HOME": "/tmp/x", "KAYNAK_K": "7", "KAYNAK_PROGRESS": "0"}
    s = Settings.from_env(env)
    assert s.home == Path("/tmp/x") and s.k == 7 and s.progress is False
    s = Settings.from_env(env, k=3)
    assert s.k == 3


def test_bad_values_say_what_to_change():
    with pytest.raises(ConfigError, match="KAYNAK_K='many' is not a valid int"):
        Settings.from_env({"KAYNAK_K": "many"})
    with pytest.raises(ConfigError, match=r"http://127\.0\.0\.1:8000"):
        Settings.from_env({"KAYNAK_CHROMA_URL": "localhost:8000"})
    with pytest.raises(ConfigError, match="unknown setting"):
        Settings.from_env({}, colour="blue")


def test_changed_settings_are_checked_like_new_ones():
    base = Settings.from_env({"KAYNAK_ALLOW_PRIVATE_URLS": "yes", "KAYNAK_PROGRESS": "off"})
    assert base.allow_private_urls is True and base.progress is False
    assert base.replace(k=9).k == 9 and base.k == 5
    with pytest.raises(ConfigError, match="k must be between 1 and 100"):
        base.replace(k=0)
    with pytest.raises(ConfigError, match="KAYNAK_PROGRESS='maybe' is not a valid bool"):
        Settings.from_env({"KAYNAK_PROGRESS": "maybe"})
