"""The chain runner: drive any `generate` callable through Zoom-in Chains, one or many at a time.

`generate(conversations) -> texts` receives Qwen-style conversations (lists of `{"role", "content"}` dicts whose image
parts carry a PIL image and the `resized_height` / `resized_width` it is already at) and returns one text each.

A chain shows the overview and the question with the zoom instruction. Each reply is read with `parse_tool_call`:
a plain answer ends the chain; a zoom call is mapped from the model's convention (for the overview) to original
pixels, grown by the crop policy, cut from the **original full-resolution image**, resized by the resolution policy and
sent back. A call that cannot be read, a region outside the image, or a call beyond `max_rounds` falls back to asking
the bare question on the overview, and `ChainResult.status` records which.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image
from rs_resolution import CropWindow, ImageFrame, ResolutionPolicy, from_model, resize_image

from rs_zoom.crop import CropPolicy, RegionOutsideImageError, clamp_region, crop_window
from rs_zoom.protocol import ZOOMED_PROMPT, ToolCallParse, parse_tool_call, tool_system_prompt, zoom_question
from rs_zoom.sources import ImageSource, open_source

TASK = "uhr_vqa"

Conversation = list[dict[str, Any]]
Generate = Callable[[list[Conversation]], list[str]]
ChainStatus = Literal["answered", "zoomed", "fallback_invalid_call", "fallback_outside_image", "fallback_max_rounds"]


@dataclass(frozen=True)
class ChainItem:
    """One question about one image (a path, a PIL image or an `ImageSource`)."""

    image: str | Path | Image.Image | ImageSource
    question: str


@dataclass(frozen=True)
class ChainRound:
    """One `generate` reply and what the chain did with it.

    `call` is None for the fallback request (no tool offered). For a zoom: `region` is the requested box in original
    pixels after clipping to the image (`clipped` says whether clipping changed it), `window` the crop cut from the
    original, `crop_size` the (width, height) the crop was sent at.
    """

    text: str
    call: ToolCallParse | None
    region: tuple[float, float, float, float] | None = None
    clipped: bool = False
    window: CropWindow | None = None
    crop_size: tuple[int, int] | None = None


@dataclass
class ChainResult:
    """The answer and the trajectory of one chain; `frame` is the original image and the overview size."""

    answer: str
    status: ChainStatus
    frame: ImageFrame
    rounds: list[ChainRound] = field(default_factory=list)

    @property
    def zooms(self) -> list[ChainRound]:
        return [r for r in self.rounds if r.window is not None]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (for evaluation reports)."""
        return {
            "answer": self.answer,
            "status": self.status,
            "image_size": [self.frame.width, self.frame.height],
            "overview_size": [self.frame.resized_width, self.frame.resized_height],
            "rounds": [
                {
                    "text": r.text,
                    "call_status": None if r.call is None else r.call.status,
                    "call_detail": None if r.call is None else r.call.detail,
                    "bbox": None if r.call is None or r.call.bbox is None else list(r.call.bbox),
                    "region": None if r.region is None else list(r.region),
                    "clipped": r.clipped,
                    "window": None if r.window is None else list(r.window.corners),
                    "crop_size": None if r.crop_size is None else list(r.crop_size),
                }
                for r in self.rounds
            ],
        }


def image_part(image: Image.Image) -> dict[str, Any]:
    """A Qwen image content part for an image already at the size the model must see."""
    return {"type": "image", "image": image, "resized_height": image.height, "resized_width": image.width}


def _text(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "content": [{"type": "text", "text": text}]}


def _user(image: Image.Image, text: str) -> dict[str, Any]:
    return {"role": "user", "content": [image_part(image), {"type": "text", "text": text}]}


class _SourcePool:
    """The sources of one `run_chains` call: chains on the same file share one (decoded at most once), and it is
    closed when the last of them finishes. Sources and PIL images passed in are used as they are and left open.
    Safe to use from several threads (chains may be prepared in one while others run)."""

    def __init__(self) -> None:
        self._sources: dict[Path, ImageSource] = {}
        self._users: Counter[Path] = Counter()
        self._lock = threading.RLock()

    def acquire(self, image: str | Path | Image.Image | ImageSource) -> tuple[ImageSource, Path | None]:
        if not isinstance(image, str | Path):
            return open_source(image), None
        key = Path(image).resolve()
        with self._lock:
            if key not in self._sources:
                self._sources[key] = open_source(key)
            self._users[key] += 1
            return self._sources[key], key

    def release(self, key: Path | None) -> None:
        if key is None:
            return
        with self._lock:
            self._users[key] -= 1
            if self._users[key] == 0:
                self._sources.pop(key).close()

    def close(self) -> None:
        """Close every source still open (after an error)."""
        with self._lock:
            while self._sources:
                self._sources.popitem()[1].close()


class PreparedChain:
    """A chain whose image is open and whose overview is made, not yet running (see `ChainPool.prepare`)."""

    def __init__(self, item: ChainItem, settings: _Settings, pool: _SourcePool) -> None:
        self.settings = settings
        self.question = item.question
        self.pool = pool
        self.source, self._source_key = pool.acquire(item.image)
        try:
            width, height = self.source.size
            self.frame = settings.policy.frame(width, height, task=TASK)
            self.overview = self.source.overview(self.frame.resized_height, self.frame.resized_width)
        except BaseException:
            pool.release(self._source_key)
            raise
        self.conversation: Conversation = [
            _text("system", tool_system_prompt(settings.convention)),
            _user(self.overview, zoom_question(item.question)),
        ]
        self.rounds: list[ChainRound] = []
        self.fallback: ChainStatus | None = None
        self.result: ChainResult | None = None

    def step(self, text: str) -> None:
        """Take one reply: finish, zoom, or switch to the fallback request."""
        if self.fallback is not None:
            self.rounds.append(ChainRound(text=text, call=None))
            self._finish(text, self.fallback)
            return
        call = parse_tool_call(text)
        if call.status == "no_call":
            self.rounds.append(ChainRound(text=text, call=call))
            zoomed = any(r.window is not None for r in self.rounds)
            self._finish(text, "zoomed" if zoomed else "answered")
        elif not call.usable:
            self._fall_back(text, call, "fallback_invalid_call")
        elif len(self.rounds) >= self.settings.max_rounds:  # every earlier round was a zoom
            self._fall_back(text, call, "fallback_max_rounds")
        else:
            self._zoom(text, call)

    def _zoom(self, text: str, call: ToolCallParse) -> None:
        corners = np.asarray(call.bbox, dtype=np.float64).reshape(2, 2)
        region_orig = from_model(corners, self.frame, self.settings.convention).reshape(4)
        try:
            region, clipped = clamp_region(region_orig, self.source.size)
        except RegionOutsideImageError:
            self._fall_back(text, call, "fallback_outside_image")
            return
        window = crop_window(region, self.source.size, self.settings.crop_policy)
        crop = self.source.read_window(window)
        crop_h, crop_w = self.settings.policy.resized_size(crop.height, crop.width, task=TASK)
        crop = resize_image(crop, crop_h, crop_w)
        self.rounds.append(ChainRound(text, call, region, clipped, window, (crop_w, crop_h)))
        self.conversation = [*self.conversation, _text("assistant", text), _user(crop, ZOOMED_PROMPT)]

    def _fall_back(self, text: str, call: ToolCallParse, status: ChainStatus) -> None:
        self.rounds.append(ChainRound(text=text, call=call))
        self.fallback = status
        self.conversation = [_user(self.overview, self.question)]

    def _finish(self, answer: str, status: ChainStatus) -> None:
        self.result = ChainResult(answer=answer.strip(), status=status, frame=self.frame, rounds=self.rounds)
        self.abandon()

    def abandon(self) -> None:
        """Release the source and the images (the chain has finished, or stops without a result)."""
        self.pool.release(self._source_key)
        self.overview = None
        self.conversation = []


@dataclass(frozen=True)
class _Settings:
    max_rounds: int
    policy: ResolutionPolicy
    convention: str
    crop_policy: CropPolicy


class ChainPool:
    """Chains that advance together: `add` chains, `generate` replies for `pending()` and `answer` each; a caller
    keeps the pool full by adding a chain whenever one finishes.

    Chains on the same file share one source, decoded at most once while any of them runs; `close` (or leaving the
    `with` block) closes every source still open. `prepare` (the image reading and the overview) may run in another
    thread while the pool's chains wait for `generate`; `start` then puts the prepared chain in the pool.
    """

    def __init__(
        self,
        max_rounds: int = 2,
        policy: ResolutionPolicy | None = None,
        convention: str = "absolute",
        crop_policy: CropPolicy | None = None,
    ) -> None:
        if max_rounds < 0:
            raise ValueError(f"max_rounds must be >= 0, got {max_rounds}")
        self._settings = _Settings(max_rounds, policy or ResolutionPolicy(), convention, crop_policy or CropPolicy())
        self._sources = _SourcePool()
        self._chains: dict[Hashable, PreparedChain] = {}

    def __len__(self) -> int:
        return len(self._chains)

    def prepare(self, item: ChainItem | tuple[Any, str]) -> PreparedChain:
        """Open the item's image and make its overview (thread-safe); a chain never started is closed with the pool
        (or by its `abandon`)."""
        return PreparedChain(item if isinstance(item, ChainItem) else ChainItem(*item), self._settings, self._sources)

    def start(self, key: Hashable, chain: PreparedChain) -> None:
        """Run a prepared chain under `key` (unique among the running chains)."""
        if key in self._chains:
            raise ValueError(f"a chain {key!r} is already running")
        self._chains[key] = chain

    def add(self, key: Hashable, item: ChainItem | tuple[Any, str]) -> None:
        """Prepare and start a chain under `key` (unique among the running chains)."""
        if key in self._chains:
            raise ValueError(f"a chain {key!r} is already running")
        self.start(key, self.prepare(item))

    def pending(self) -> list[tuple[Hashable, Conversation]]:
        """The conversation each running chain waits a reply to, in the order the chains were added."""
        return [(key, chain.conversation) for key, chain in self._chains.items()]

    def conversation(self, key: Hashable) -> Conversation:
        """The conversation the running chain `key` waits a reply to (a caller may step chains one at a time)."""
        return self._chains[key].conversation

    def answer(self, key: Hashable, text: str) -> ChainResult | None:
        """Advance the chain `key` by one reply; its result, once it finished (it then leaves the pool)."""
        if not isinstance(text, str):
            raise TypeError(f"generate returned a {type(text).__name__} for chain {key!r}, expected str")
        chain = self._chains[key]
        chain.step(text)
        if chain.result is None:
            return None
        return self._chains.pop(key).result

    def discard(self, key: Hashable) -> None:
        """Stop a chain without a result (its request failed)."""
        self._chains.pop(key).abandon()

    def close(self) -> None:
        self._chains.clear()
        self._sources.close()

    def __enter__(self) -> ChainPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_chains(
    generate: Generate,
    items: Sequence[ChainItem | tuple[Any, str]],
    max_rounds: int = 2,
    policy: ResolutionPolicy | None = None,
    convention: str = "absolute",
    crop_policy: CropPolicy | None = None,
    slots: int | None = None,
) -> list[ChainResult]:
    """Run many chains together: each `generate` call gets the pending conversation of every running chain.

    At most `slots` chains run at once (default: all); a finished chain's slot goes to the next item at once, so
    chains that end at different rounds never wait for each other. Results come back in the order of `items`.
    `max_rounds` is the most zooms a chain may make.
    """
    if slots is not None and slots < 1:
        raise ValueError(f"slots must be >= 1, got {slots}")
    results: list[ChainResult | None] = [None] * len(items)
    queue = iter(enumerate(items))
    with ChainPool(max_rounds, policy, convention, crop_policy) as pool:
        for index, item in islice(queue, slots or len(items)):
            pool.add(index, item)
        while pool:
            keys, conversations = zip(*pool.pending(), strict=True)
            texts = generate(list(conversations))
            if not isinstance(texts, list | tuple) or len(texts) != len(keys):
                got = len(texts) if isinstance(texts, list | tuple) else type(texts).__name__
                raise ValueError(f"generate returned {got} texts for {len(keys)} conversations")
            for index, text in zip(keys, texts, strict=True):
                results[index] = pool.answer(index, text)
                if results[index] is not None:
                    for refill, item in islice(queue, 1):
                        pool.add(refill, item)
    return results


def run_chain(
    generate: Generate,
    image: str | Path | Image.Image | ImageSource,
    question: str,
    max_rounds: int = 2,
    policy: ResolutionPolicy | None = None,
    convention: str = "absolute",
    crop_policy: CropPolicy | None = None,
) -> ChainResult:
    """Run one chain; see `run_chains`."""
    return run_chains(generate, [ChainItem(image, question)], max_rounds, policy, convention, crop_policy)[0]
