"""The bundle tests share one source home (A, exported once); they change only copies of it."""

from __future__ import annotations

import pytest

from tests.bundle.bundle_helpers import Source, make_source


@pytest.fixture(scope="session")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    return make_source(tmp_path_factory.mktemp("source"))
