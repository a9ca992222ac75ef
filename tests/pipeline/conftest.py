"""Fixtures for end-to-end harvest tests: the source fakes and the test origin."""

from tests.servers.archive import archive_server  # noqa: F401  (fixtures)
from tests.servers.ckan import ckan_server  # noqa: F401
from tests.servers.oai import oai_server  # noqa: F401
from tests.servers.origin import origin  # noqa: F401
from tests.servers.site import site_server  # noqa: F401
