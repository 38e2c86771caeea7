"""The map-style mixture dataset: records files, deterministic rendering per index, torch DataLoader workers."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from rs_data import Record, write_records
from rs_data.dataset import MixtureDataset, RecordStore, UnusableRecordError
from rs_data.lengths import cache_key, epoch_lengths
from rs_data.mixing import Mixture
from rs_data.readers import READERS
from rs_data.render import RenderConfig
from rs_resolution import ResolutionPolicy


@pytest.fixture(scope="module")
def mixture(data_dir: Path, sources: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Mixture:
    root = tmp_path_factory.mktemp("mix")
    dota = READERS["dota"](data_dir / "dota").records
    rsvqa = READERS["rsvqa"](sources["rsvqa"], images=sources["rsvqa"] / "Images_LR").records
    write_records(root / "dota.jsonl", dota)
    write_records(root / "rsvqa.jsonl", rsvqa)
    paths = {"dota": str(root / "dota.jsonl"), "rsvqa": str(root / "rsvqa.jsonl")}
    return Mixture.from_spec("dota*4,rsvqa", paths, seed=5)


def test_record_store_random_access(mixture: Mixture) -> None:
    store = RecordStore(mixture.datasets[1].path)
    assert len(store) == 3
    assert store[2].annotation.answer == "rural" and store[0].annotation.answer == "yes"


def test_items_are_deterministic_and_follow_the_sampler(mixture: Mixture) -> None:
    dataset = MixtureDataset.from_mixture(mixture, ResolutionPolicy(max_pixels=256 * 256))
    assert len(dataset) == 4 and dataset.sizes == [1, 3]
    clone = pickle.loads(pickle.dumps(dataset))
    assert clone[0].messages == dataset[0].messages
    sampler = dataset.sampler()
    indices = list(sampler)
    assert len(indices) == 7 and sorted(i % len(dataset) for i in indices).count(0) == 4
    assert sorted(i for i in indices if i % len(dataset) == 0) == [0, 4, 8, 12]  # four copies of the one record
    assert {dataset[i].task for i in indices} == {"detection", "vqa"}
    assert dataset.record(4) == dataset.record(0)
    with pytest.raises(IndexError):
        dataset.record(-1)


def test_copies_of_a_repeated_sample_are_rendered_afresh(mixture: Mixture) -> None:
    dataset = MixtureDataset.from_mixture(mixture, ResolutionPolicy(max_pixels=256 * 256))
    copies = [key for key in dataset.sampler() if key % len(dataset) == 0]
    renders = {(dataset[key].box_type, dataset[key].style, dataset[key].answer) for key in copies}
    assert len(copies) == 4 and len(renders) > 1


def test_each_entry_renders_with_its_own_box_types(mixture: Mixture) -> None:
    dota, rsvqa = (entry.path for entry in mixture.datasets)
    spec = "dota@poly*3,dota@hbb*3,dota*3,rsvqa@hbb"
    paths = {"dota": dota, "rsvqa": rsvqa}
    variants = Mixture.from_spec(spec, paths, seed=1)
    config = RenderConfig(box_types={"obb": 1.0}, styles={"plain": 1.0})
    dataset = MixtureDataset.from_mixture(variants, ResolutionPolicy(max_pixels=256 * 256), config)
    assert dataset.sources[0] is dataset.sources[1] is dataset.sources[2]  # one store for the shared file
    seen: dict[str, set] = {}
    for key in dataset.sampler():
        sample = dataset[key]
        seen.setdefault(variants.datasets[dataset.locate(key)[0]].name, set()).add(sample.box_type)
        values = sample.answer.splitlines()[0].split(" ")[0].split(",") if sample.box_type else []
        assert len(values) == {"poly": 8, "hbb": 4, "obb": 5, None: 0}[sample.box_type]
    assert seen == {"dota@poly": {"poly"}, "dota@hbb": {"hbb"}, "dota": {"obb"}, "rsvqa@hbb": {None}}
    plain = MixtureDataset.from_mixture(Mixture.from_spec("dota*3", paths), ResolutionPolicy(), config)
    assert {plain[key].box_type for key in plain.sampler()} == {"obb"}


@pytest.mark.slow
def test_torch_dataloader_with_workers(mixture: Mixture) -> None:
    torch_data = pytest.importorskip("torch.utils.data")
    dataset = MixtureDataset.from_mixture(mixture, ResolutionPolicy(max_pixels=256 * 256), load_images=True)
    loader = torch_data.DataLoader(dataset, batch_size=None, sampler=dataset.sampler(), num_workers=2)
    samples = list(loader)
    assert len(samples) == 7
    assert all(s.images[0].size == s.frames[0].resized_size for s in samples)


def capitals_but_rural(record: Record, config: RenderConfig) -> Record:
    """A prepare step for the test: answers in capitals, the "rural" question refused."""
    if record.annotation.answer == "rural":
        raise UnusableRecordError(f"{record.id}: refused")
    answer = record.annotation.answer.upper()
    return record.model_copy(update={"annotation": record.annotation.model_copy(update={"answer": answer})})


def test_a_prepare_step_turns_records_into_what_is_rendered(mixture: Mixture, tmp_path: Path) -> None:
    rsvqa = Mixture.from_spec("rsvqa", {"rsvqa": mixture.datasets[1].path})
    policy = ResolutionPolicy(max_pixels=256 * 256)
    dataset = pickle.loads(pickle.dumps(MixtureDataset.from_mixture(rsvqa, policy, prepare=capitals_but_rural)))
    assert dataset[0].answer == "YES" and dataset.record(0).annotation.answer == "yes"
    with pytest.raises(UnusableRecordError, match="refused"):
        dataset[2]
    lengths = epoch_lengths(dataset, 0, [0, 1, 2], lambda messages: len(str(messages)), "chars", tmp_path)
    assert lengths[0] > 0 and lengths[2] == 0  # a refused record costs nothing: training skips it
    plain = MixtureDataset.from_mixture(rsvqa, policy)
    assert cache_key(plain, 0, [0], "chars") != cache_key(dataset, 0, [0], "chars")
