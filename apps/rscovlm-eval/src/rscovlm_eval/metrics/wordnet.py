"""Offline WordNet 3.0 for nltk, built from Debian's `wordnet-base` and `wordnet-sense-index` packages.

nltk's reader wants a `lexnames` file that Debian does not ship, and it refuses symbolic links that point outside
its data folder, so the database files are copied into a cache folder beside a generated `lexnames`.
The cache folder is registered in `nltk.data.path`, the only folders nltk reads from. Nothing is ever downloaded.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import warnings
from pathlib import Path

SYSTEM_WORDNET = Path("/usr/share/wordnet")
_DATABASE_FILES = (
    *(f"{kind}.{pos}" for kind in ("data", "index") for pos in ("noun", "verb", "adj", "adv")),
    *(f"{pos}.exc" for pos in ("noun", "verb", "adj", "adv")),
    "index.sense",
)
_OPTIONAL_FILES = ("cntlist.rev",)

# The 45 lexicographer files of WordNet 3.0 (lexnames(5WN)), in their numbered order 00-44.
LEXNAMES = [
    "adj.all",
    "adj.pert",
    "adv.all",
    "noun.Tops",
    "noun.act",
    "noun.animal",
    "noun.artifact",
    "noun.attribute",
    "noun.body",
    "noun.cognition",
    "noun.communication",
    "noun.event",
    "noun.feeling",
    "noun.food",
    "noun.group",
    "noun.location",
    "noun.motive",
    "noun.object",
    "noun.person",
    "noun.phenomenon",
    "noun.plant",
    "noun.possession",
    "noun.process",
    "noun.quantity",
    "noun.relation",
    "noun.shape",
    "noun.state",
    "noun.substance",
    "noun.time",
    "verb.body",
    "verb.change",
    "verb.cognition",
    "verb.communication",
    "verb.competition",
    "verb.consumption",
    "verb.contact",
    "verb.creation",
    "verb.emotion",
    "verb.motion",
    "verb.perception",
    "verb.possession",
    "verb.social",
    "verb.stative",
    "verb.weather",
    "adj.ppl",
]
# Syntactic category of each file's part of speech: 1 noun, 2 verb, 3 adjective, 4 adverb.
_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}


class WordNetMissingError(RuntimeError):
    """WordNet 3.0 is not installed where expected."""


def default_cache_dir() -> Path:
    """$RSCOVLM_CACHE/nltk_data, else $XDG_CACHE_HOME (or ~/.cache)/rscovlm/nltk_data."""
    base = os.environ.get("RSCOVLM_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rscovlm"
    return Path(base) / "nltk_data"


def lexnames_text() -> str:
    """The `lexnames` file nltk reads: `NN<TAB>name<TAB>category` per line."""
    return "".join(f"{i:02d}\t{name}\t{_CATEGORY[name.split('.')[0]]}\n" for i, name in enumerate(LEXNAMES))


def prepare_wordnet(source: Path = SYSTEM_WORDNET, cache_dir: Path | None = None) -> Path:
    """Copy WordNet's database into `cache_dir`/corpora/wordnet (once) with a generated `lexnames`.

    Returns the corpus folder. `cache_dir` is laid out as an nltk data folder because nltk's reader looks up
    `corpora/wordnet` by name to map sense keys.
    """
    missing = [name for name in _DATABASE_FILES if not (source / name).is_file()]
    if missing:
        raise WordNetMissingError(
            f"WordNet 3.0 not found in {source} (missing {', '.join(missing)}): install the Debian/Ubuntu packages "
            "`wordnet-base` and `wordnet-sense-index` (apt-get install wordnet-base wordnet-sense-index)"
        )
    target = (cache_dir or default_cache_dir()) / "corpora" / "wordnet"
    if (target / "lexnames").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".wordnet-", dir=target.parent))
    for name in _DATABASE_FILES + _OPTIONAL_FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, staging / name)
    (staging / "lexnames").write_text(lexnames_text(), encoding="ascii")
    try:
        staging.rename(target)
    except OSError:  # another process finished first
        shutil.rmtree(staging, ignore_errors=True)
    return target


@functools.cache
def load_wordnet(source: Path = SYSTEM_WORDNET, cache_dir: Path | None = None):
    """An nltk WordNetCorpusReader over the offline WordNet 3.0 (cached per process)."""
    import nltk.data
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    corpus = prepare_wordnet(source, cache_dir)
    data_root = str(corpus.parent.parent)
    if data_root not in nltk.data.path:
        nltk.data.path.append(data_root)  # nltk reads corpora only from its registered data folders
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The multilingual functions are not available")
        return WordNetCorpusReader(str(corpus), None)
