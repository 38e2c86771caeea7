"""Class lists of the common remote-sensing detection sets and the text form of class names."""

from __future__ import annotations

from pathlib import Path

DOTA_V1_0 = [
    "plane",
    "baseball-diamond",
    "bridge",
    "ground-track-field",
    "small-vehicle",
    "large-vehicle",
    "ship",
    "tennis-court",
    "basketball-court",
    "storage-tank",
    "soccer-ball-field",
    "roundabout",
    "harbor",
    "swimming-pool",
    "helicopter",
]

CLASS_SETS: dict[str, list[str]] = {
    "dota1.0": DOTA_V1_0,
    "dota1.5": [*DOTA_V1_0, "container-crane"],
    "dota2.0": [*DOTA_V1_0, "container-crane", "airport", "helipad"],
    "dior-r": [
        "airplane",
        "airport",
        "baseballfield",
        "basketballcourt",
        "bridge",
        "chimney",
        "expressway-service-area",
        "expressway-toll-station",
        "dam",
        "golffield",
        "groundtrackfield",
        "harbor",
        "overpass",
        "ship",
        "stadium",
        "storagetank",
        "tenniscourt",
        "trainstation",
        "vehicle",
        "windmill",
    ],
    "fair1m": [
        "Boeing737",
        "Boeing747",
        "Boeing777",
        "Boeing787",
        "C919",
        "A220",
        "A321",
        "A330",
        "A350",
        "ARJ21",
        "other-airplane",
        "Passenger Ship",
        "Motorboat",
        "Fishing Boat",
        "Tugboat",
        "Engineering Ship",
        "Liquid Cargo Ship",
        "Dry Cargo Ship",
        "Warship",
        "other-ship",
        "Small Car",
        "Bus",
        "Cargo Truck",
        "Dump Truck",
        "Van",
        "Trailer",
        "Tractor",
        "Excavator",
        "Truck Tractor",
        "other-vehicle",
        "Basketball Court",
        "Tennis Court",
        "Football Field",
        "Baseball Field",
        "Intersection",
        "Roundabout",
        "Bridge",
    ],
    "hrsc": ["ship"],
}

#: A misspelled label is mapped onto a class when its edit distance to the class's text form is at most one per this
#: many characters of that form: names under 10 characters must match exactly (`planet` is not `plane`).
CHARACTERS_PER_EDIT = 10


def normalize_class(name: str) -> str:
    """Text form of a class name: lower-case, '-' and '_' read as spaces, runs of spaces collapsed."""
    return " ".join(name.lower().replace("-", " ").replace("_", " ").split())


def load_classes(name_or_path: str | Path) -> list[str]:
    """A named class set (see CLASS_SETS) or a text file with one class name a line."""
    key = str(name_or_path)
    if key.lower() in CLASS_SETS:
        return list(CLASS_SETS[key.lower()])
    path = Path(name_or_path)
    if not path.is_file():
        raise ValueError(f"unknown class set {key!r}: not one of {sorted(CLASS_SETS)} and not a file")
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not names:
        raise ValueError(f"{path}: class file is empty")
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"{path}: duplicate class names {sorted(duplicates)}")
    return names


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions) between two strings."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


class ClassMatcher:
    """Maps free-form labels onto a class list: exact on the text form, else the one class within the allowed edit
    distance (len // CHARACTERS_PER_EDIT of the class's text form). `fuzzy` records the misspellings mapped."""

    def __init__(self, classes: list[str]) -> None:
        self._by_text = {normalize_class(c): c for c in classes}
        self._seen: dict[str, str | None] = {}
        self.fuzzy: dict[str, str] = {}

    def match(self, label: str) -> str | None:
        """The class a label names, or None when no class, or more than one, is close enough."""
        text = normalize_class(label)
        if text in self._by_text:
            return self._by_text[text]
        if text not in self._seen:
            close = [
                name
                for key, name in self._by_text.items()
                if edit_distance(text, key) <= len(key) // CHARACTERS_PER_EDIT
            ]
            self._seen[text] = close[0] if len(close) == 1 else None
            if self._seen[text] is not None:
                self.fuzzy[text] = close[0]
        return self._seen[text]
