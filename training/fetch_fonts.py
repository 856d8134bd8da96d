"""Fetch the handwriting fonts of ``training/fonts.txt`` from the npm registry into a folder.

Each line of the list names an ``@fontsource`` package (Google Fonts, SIL Open Font
License), its version and the ``.woff2`` file to take from it. ``npm pack`` downloads the
package's tarball (npm must be installed; only the registry is needed), and the one file is
extracted as ``<name>.woff2``. Fonts already in the folder are not fetched again; a package
that cannot be fetched is reported and skipped. The fonts are training data only: they are
never committed and never needed to serve.

Usage::

    python -m training.fetch_fonts [--out ~/.cache/digitbot/fonts] [--list training/fonts.txt]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

FONT_LIST = Path(__file__).with_name("fonts.txt")
DEFAULT_FONT_DIR = Path.home() / ".cache" / "digitbot" / "fonts"


@dataclass(frozen=True)
class FontSpec:
    """One line of the font list: ``@fontsource/<package>@<version>``, and ``file`` in its ``files/``."""

    package: str
    version: str
    file: str


def read_font_list(path: str | Path = FONT_LIST) -> list[FontSpec]:
    """The fonts listed in ``path``: one ``package version file`` per line; ``#`` starts a comment.

    Raises:
        ValueError: a line does not have three fields.
    """
    specs = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) != 3:
            raise ValueError(f"{path}:{number}: expected 'package version file', got {line!r}")
        specs.append(FontSpec(*fields))
    return specs


def fetch_font(spec: FontSpec, out: Path, npm: str = "npm") -> Path:
    """Download one package with ``npm pack`` and extract its font file to ``out/<package>.woff2``.

    Raises:
        RuntimeError: npm failed or the tarball does not hold the file.
    """
    target = out / f"{spec.package}.woff2"
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run([npm, "pack", f"@fontsource/{spec.package}@{spec.version}", "--silent"],
                              cwd=folder, capture_output=True, text=True, timeout=300)
        tarballs = list(Path(folder).glob("*.tgz"))
        if done.returncode != 0 or not tarballs:
            raise RuntimeError(f"npm pack @fontsource/{spec.package}@{spec.version} failed: "
                               f"{(done.stderr or done.stdout).strip()[-300:]}")
        with tarfile.open(tarballs[0]) as archive:
            try:
                member = archive.extractfile(f"package/files/{spec.file}")
            except KeyError:
                member = None
            if member is None:
                raise RuntimeError(f"{tarballs[0].name} holds no files/{spec.file}")
            partial = target.with_suffix(".part")
            with member, open(partial, "wb") as handle:
                shutil.copyfileobj(member, handle)
            partial.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    """CLI: fetch every listed font not already in the folder; returns 1 if any failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_FONT_DIR, help=f"font folder (default {DEFAULT_FONT_DIR})")
    parser.add_argument("--list", type=Path, default=FONT_LIST, help="the font list")
    args = parser.parse_args(argv)
    if shutil.which("npm") is None:
        print("npm is not installed: install Node.js's npm, then run this again")
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for spec in read_font_list(args.list):
        if (args.out / f"{spec.package}.woff2").is_file():
            continue
        try:
            fetch_font(spec, args.out)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
            failed += 1
            print(f"skipped {spec.package}: {error}")
    have = len(list(args.out.glob("*.woff2")))
    print(f"{have} fonts in {args.out}" + (f"; {failed} could not be fetched" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
