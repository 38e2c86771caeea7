"""Mixture specs and YAML, sampling strategies, and the sampler's determinism, exact sharding and exact resume."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rs_data.mixing import DatasetEntry, Mixture, MixtureSampler, parse_mixture_spec

SIZES = [50, 30, 7]


def test_spec_strings() -> None:
    entries = parse_mixture_spec("dota%50, dior*3,rsvqa%20*1.5")
    assert [(e.name, e.fraction, e.repeat) for e in entries] == [
        ("dota", 0.5, 1.0),
        ("dior", 1.0, 3.0),
        ("rsvqa", 0.2, 1.5),
    ]
    every = parse_mixture_spec("all*2", available=["a", "b"])
    assert [(e.name, e.repeat) for e in every] == [("a", 2.0), ("b", 2.0)]
    for bad in ("dota%0", "dota%150", "", "dota*0", "x^2"):
        with pytest.raises(ValueError):
            parse_mixture_spec(bad)
    with pytest.raises(ValueError, match="unknown dataset 'c'"):
        parse_mixture_spec("c", available=["a"])


def test_spec_box_variants_equal_their_yaml_form(tmp_path: Path) -> None:
    entries = parse_mixture_spec("dota@poly*25, dota@hbb, dior@hbb+obb%50, rsvqa")
    assert [(e.name, e.records_name, e.repeat, e.fraction) for e in entries] == [
        ("dota@poly", "dota", 25.0, 1.0),
        ("dota@hbb", "dota", 1.0, 1.0),
        ("dior@hbb+obb", "dior", 1.0, 0.5),
        ("rsvqa", "rsvqa", 1.0, 1.0),
    ]
    path = tmp_path / "mix.yaml"
    path.write_text(
        "datasets:\n"
        "  - {name: dota@poly, repeat: 25, render: {box_types: {poly: 1}}}\n"
        "  - {name: dota@hbb, render: {box_types: {hbb: 1}}}\n"
        "  - {name: dior@hbb+obb, fraction: 0.5, render: {box_types: {hbb: 1, obb: 1}}}\n"
        "  - {name: rsvqa}\n"
    )
    assert Mixture.from_yaml(path).datasets == entries
    dumped = [e.model_dump(exclude_defaults=True) for e in entries]
    assert dumped[1] == {"name": "dota@hbb", "render": {"box_types": {"hbb": 1.0}}}  # only what the entry sets
    assert [DatasetEntry.model_validate(d) for d in dumped] == entries
    assert [DatasetEntry.model_validate_json(e.model_dump_json()) for e in entries] == entries
    both = Mixture.from_spec("dota@poly*2,dota@hbb,all@obb", {"dota": "d.jsonl", "x": "x.jsonl"})
    assert [(e.name, e.path) for e in both.datasets] == [
        ("dota@poly", "d.jsonl"),
        ("dota@hbb", "d.jsonl"),
        ("dota@obb", "d.jsonl"),
        ("x@obb", "x.jsonl"),
    ]
    with pytest.raises(ValueError, match="unknown box type 'circle'"):
        parse_mixture_spec("dota@circle")
    with pytest.raises(ValueError, match="expected NAME"):
        parse_mixture_spec("dota@")


def test_an_unknown_render_key_is_rejected_with_its_path() -> None:
    with pytest.raises(ValueError, match=r"datasets\.0\.render\.box_type\n"):
        Mixture.model_validate({"datasets": [{"name": "dota", "render": {"box_type": {"hbb": 1}}}]})
    with pytest.raises(ValueError, match=r"datasets\.0\.render\.templates\.detection\n"):
        Mixture.model_validate({"datasets": [{"name": "dota", "render": {"templates": {"detection": "x"}}}]})


def test_weighted_counts_follow_fraction_and_repeat() -> None:
    mixture = Mixture.from_spec("a%50,b*3,c*1.5")
    assert mixture.counts(SIZES) == [25, 90, 10]


def test_yaml_weights_balanced_and_temperature(tmp_path: Path) -> None:
    path = tmp_path / "mix.yaml"
    path.write_text(
        "seed: 7\nepoch_size: 100\ndatasets:\n"
        "  - {name: a, path: a.jsonl, weight: 3}\n  - {name: b, path: /abs/b.jsonl, weight: 1}\n"
    )
    mixture = Mixture.from_yaml(path)
    assert mixture.seed == 7 and mixture.datasets[0].path == str(tmp_path / "a.jsonl")
    assert mixture.datasets[1].path == "/abs/b.jsonl"
    assert mixture.counts([10, 1000]) == [75, 25]
    balanced = Mixture(datasets=[DatasetEntry(name=n) for n in "abc"], strategy="balanced")
    assert balanced.counts(SIZES) == [29, 29, 29]
    for temperature, expected in ((1.0, [50, 30, 7]), (1e9, [29, 29, 29])):
        temp = Mixture(datasets=[DatasetEntry(name=n) for n in "abc"], strategy="temperature", temperature=temperature)
        assert temp.counts(SIZES) == expected
    t2 = Mixture(datasets=[DatasetEntry(name=n) for n in "abc"], strategy="temperature", temperature=2.0)
    p = np.sqrt(SIZES) / np.sqrt(SIZES).sum()
    assert np.abs(np.array(t2.counts(SIZES)) - 87 * p).max() <= 1
    with pytest.raises(ValueError, match="unique"):
        Mixture(datasets=[DatasetEntry(name="a"), DatasetEntry(name="a")])


def test_subsample_is_fixed_by_seed_and_repeats_cover_the_pool() -> None:
    mixture = Mixture.from_spec("a%50,b*3,c")
    sampler = MixtureSampler(SIZES, mixture)
    total = sum(SIZES)
    epoch0, epoch1 = sampler.epoch_indices(0) % total, sampler.epoch_indices(1) % total
    a0 = set(epoch0[epoch0 < 50].tolist())
    assert len(a0) == 25 and a0 == set(epoch1[epoch1 < 50].tolist())
    b = Counter(epoch0[(epoch0 >= 50) & (epoch0 < 80)].tolist())
    assert set(b.values()) == {3} and len(b) == 30
    assert not np.array_equal(epoch0, epoch1)
    other_seed = MixtureSampler(SIZES, mixture.model_copy(update={"seed": 1})).epoch_indices(0) % total
    assert set(other_seed[other_seed < 50].tolist()) != a0


@settings(max_examples=25, deadline=None)
@given(world_size=st.integers(1, 5), epoch=st.integers(0, 3), seed=st.integers(0, 2**31))
def test_ranks_together_see_each_planned_sample_exactly_once(world_size: int, epoch: int, seed: int) -> None:
    mixture = Mixture.from_spec("a%50,b*2,c*1.5", seed=seed)
    full = MixtureSampler(SIZES, mixture).epoch_indices(epoch)
    shards = []
    for rank in range(world_size):
        sampler = MixtureSampler(SIZES, mixture, rank=rank, world_size=world_size)
        sampler.set_epoch(epoch)
        shard = list(sampler)
        assert len(shard) == len(MixtureSampler(SIZES, mixture, rank=rank, world_size=world_size))
        shards.append(shard)
    assert Counter(i for s in shards for i in s) == Counter(full.tolist())
    assert max(map(len, shards)) - min(map(len, shards)) <= 1


def test_pad_makes_equal_shards() -> None:
    lengths = {len(list(MixtureSampler([5], rank=r, world_size=3, pad=True))) for r in range(3)}
    assert lengths == {2}


def test_resume_continues_with_exactly_the_remaining_samples() -> None:
    mixture = Mixture.from_spec("a,b%50,c*2", seed=11)
    reference = MixtureSampler(SIZES, mixture, rank=1, world_size=2)
    reference.set_epoch(3)
    expected = list(reference)

    first = MixtureSampler(SIZES, mixture, rank=1, world_size=2)
    first.set_epoch(3)
    iterator = iter(first)
    seen = [next(iterator) for _ in range(10)]
    state = first.state_dict()

    resumed = MixtureSampler(SIZES, mixture, rank=1, world_size=2)
    resumed.load_state_dict(state)
    resumed.set_epoch(3)
    assert seen + list(resumed) == expected
    assert resumed.state_dict()["epoch"] == 4
    with pytest.raises(ValueError, match="seed"):
        MixtureSampler(SIZES, mixture, seed=12, rank=1, world_size=2).load_state_dict(state)


@pytest.mark.parametrize(("before", "after"), [(2, 1), (1, 2), (2, 4)])
def test_resume_on_another_world_size_continues_the_global_order(before: int, after: int) -> None:
    mixture = Mixture.from_spec("a,b%50,c*2", seed=11)
    order = MixtureSampler(SIZES, mixture).epoch_indices(3)  # the epoch's list, over all ranks
    states = []
    for rank in range(before):  # every rank has taken 4 samples
        sampler = MixtureSampler(SIZES, mixture, rank=rank, world_size=before)
        sampler.set_epoch(3)
        iterator = iter(sampler)
        for _ in range(4):
            next(iterator)
        states.append(sampler.state_dict())
    taken = 4 * before
    for rank in range(after):
        resumed = MixtureSampler(SIZES, mixture, rank=rank, world_size=after)
        resumed.load_state_dict(states[0])
        resumed.set_epoch(3)
        assert list(resumed) == list(order[taken + rank :: after])
    with pytest.raises(ValueError, match="cannot continue evenly"):
        MixtureSampler(SIZES, mixture, rank=0, world_size=3).load_state_dict(states[0])
