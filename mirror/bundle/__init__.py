"""Offline bundles: a collection's content and signed entries in a folder (or a tar file) that
moves between homes on a disk, and is verified completely on the way in.

    report = await export_bundle(home, "notes", Path("/media/usb/notes"))     # mirror.bundle.export
    report = await import_bundle(other_home, Path("/media/usb/notes"))       # mirror.bundle.load

Layout (``docs/bundles.md``)::

    PATH/
      manifest.json              format, version, collection, counts, every file's sha256 and size
      content.car                CARv1: the collection's contents (content-2.car, … when many)
      entries/<author>.omep      entry pages (protocol §4) of each author's chain from seq 1
      entries/<author>.2.omep    …
      forks.omep                 fork evidence, when the exporting node holds some

Modules: ``manifest`` (the manifest and file names), ``files`` (folder and tar, read and written
as hashed streams), ``export``, ``verify`` (checks before anything is kept), ``load`` (import).
"""

from mirror.bundle.export import ExportReport, Sizes, export_bundle
from mirror.bundle.load import ImportReport, import_bundle

__all__ = ["ExportReport", "ImportReport", "Sizes", "export_bundle", "import_bundle"]
