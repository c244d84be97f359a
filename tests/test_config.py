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


def test_settings_are_frozen():
    s = Settings()
    with pytest.raises(AttributeError):
        s.k = 2  # type: ignore[misc]
