"""Running one function over many items on several processes, in order, with a progress bar."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def parallel_map(
    function: Callable[..., T],
    items: Sequence[Any],
    *shared: Any,
    workers: int = 1,
    desc: str = "",
    progress=False,
    chunksize: int | None = None,
) -> Iterator[T]:
    """Yield `function(*shared, item)` for every item in order; `workers > 1` uses that many processes, handing them
    `chunksize` items at a time (default: about eight chunks per worker; 1 for items that take seconds each, so that
    no worker waits at the end for another's last chunk)."""
    with tqdm(total=len(items), desc=desc, disable=not progress) as bar:
        if workers <= 1 or len(items) < 2:
            for item in items:
                yield function(*shared, item)
                bar.update()
            return
        chunksize = chunksize or max(1, len(items) // (workers * 8))
        columns = [[value] * len(items) for value in shared]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for result in pool.map(function, *columns, items, chunksize=chunksize):
                yield result
                bar.update()
