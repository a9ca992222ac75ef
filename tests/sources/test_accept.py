"""wget's --accept/--reject lists, read the same way (mirror.sources.accept)."""

from __future__ import annotations

import pytest

from mirror.sources.accept import NameFilter


@pytest.mark.parametrize("accept, reject, url, media_type, admitted", [
    (["pdf"], [], "https://h/a/report.PDF", None, True),
    (["pdf,csv"], [], "https://h/a/t.csv?x=1", None, True),
    (["pdf"], [], "https://h/a/t.csv", None, False),
    (["*.pdf"], [], "https://h/a/report.pdf", None, True),
    (["report*"], [], "https://h/a/report-2024.txt", None, True),
    (["rep?rt.pdf"], [], "https://h/a/report.pdf", None, True),
    ([], ["*draft*"], "https://h/a/draft-1.pdf", None, False),
    (["pdf"], ["*draft*"], "https://h/a/draft.pdf", None, False),
    (["html"], [], "https://h/a/", "text/html", True),
    (["html"], [], "https://h/a/about", "text/html; charset=utf-8", True),
    (["html"], [], "https://h/a/about", "text/csv", False),
    ([], ["html"], "https://h/a/about", "text/html", False),
    (["pdf"], [], "https://h/a/My%20Report.pdf", None, True),
    (["pdf"], [], "https://h/", None, False),
])
def test_names_are_kept_as_wget_keeps_them(accept, reject, url, media_type, admitted) -> None:
    assert NameFilter.parse(accept, reject).admits(url, media_type) is admitted


def test_no_list_keeps_everything() -> None:
    assert not NameFilter.parse([" ", ","], [])
