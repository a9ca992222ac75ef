"""Real local servers for tests (127.0.0.1, port 0): no mocks of our own code.

Each module exposes a pytest fixture; import it into the conftest.py of the tests that use it, e.g.
``from tests.servers.origin import origin  # noqa: F401`` (each module's docstring documents its
fixture and endpoints):

    origin      an origin with awkward endpoints (slow, 503/429 + Retry-After, truncated, dropped,
                redirect chains and loops, gzip bomb, huge body, robots.txt, licence pages) and a
                recorder that measures politeness on the server side (in flight per host, spacing)
    oai, site, ckan, archive
                the source fakes (OAI-PMH repository, website, CKAN API, Internet Archive API)
"""
