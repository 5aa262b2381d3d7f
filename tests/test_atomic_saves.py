"""Atomic saves under concurrency, with long file names and through symbolic links."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

import nnframe as nf
from nnframe import atomic
from nnframe.serialization import write_atomic


def _temporaries(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (AttributeError, OSError, ValueError):  # pragma: no cover - not POSIX
        return 255


# ---------------------------------------------------------------------------------------------
# Saves from threads and processes to one path
# ---------------------------------------------------------------------------------------------


def test_four_threads_saving_300_times_each_to_one_path_never_fail(tmp_path):
    path = tmp_path / "shared.safetensors"
    failures: list[BaseException] = []
    start = threading.Barrier(4)

    def work(seed: int) -> None:
        model = nf.Sequential(nf.Linear(3, 2, rng=seed))
        start.wait()
        for _ in range(300):
            try:
                nf.save(model, path)
            except BaseException as error:  # counted and reported below
                failures.append(error)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    loaded = nf.load(path)
    assert any(
        np.array_equal(loaded[0].weight.value, nf.Linear(3, 2, rng=seed).weight.value)
        for seed in range(4)
    )
    assert _temporaries(tmp_path) == []


def test_a_cleanup_between_creating_and_registering_a_temporary_cannot_delete_it(
    tmp_path, monkeypatch
):
    # The window the thread test hits by chance, opened on purpose: another save's cleanup
    # runs just after this save's temporary exists on disk.
    path = tmp_path / "m.bin"
    real_open = os.open

    def open_then_clean(file, flags, *args):
        fd = real_open(file, flags, *args)
        if str(file).endswith(".tmp"):
            atomic._remove_stale(Path(file).parent, path.name)
        return fd

    monkeypatch.setattr(atomic.os, "open", open_then_clean)
    write_atomic(path, b"whole")
    assert path.read_bytes() == b"whole"


WRITER = textwrap.dedent(
    """
    import sys
    from nnframe.serialization import write_atomic

    path, tag = sys.argv[1], sys.argv[2].encode()
    for i in range(200):
        write_atomic(path, tag * 1000)
    """
)


def test_two_processes_saving_to_one_path_never_fail(tmp_path):
    path = tmp_path / "shared.bin"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    children = [
        subprocess.Popen(
            [sys.executable, str(script), str(path), tag],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )
        for tag in ("a", "b")
    ]
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()
    assert path.read_bytes() in (b"a" * 1000, b"b" * 1000)
    assert _temporaries(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# Temporary names stay within the file system's name limit
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [230, 240, 250, 254, 255])
def test_a_file_name_up_to_the_limit_can_be_saved(tmp_path, length):
    limit = _name_max(tmp_path)
    if length > limit:
        pytest.skip(f"this file system allows {limit}-byte names")
    path = tmp_path / ("m" * (length - len(".safetensors")) + ".safetensors")
    assert len(path.name) == length
    model = nf.Sequential(nf.Linear(2, 2, rng=0))
    nf.save(model, path)
    assert np.array_equal(nf.load(path)[0].weight.value, model[0].weight.value)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_long_multibyte_name_keeps_its_temporary_within_the_byte_limit(tmp_path, monkeypatch):
    limit = _name_max(tmp_path)
    name = "é" * ((limit - 4) // 2) + ".bin"  # two bytes a character in UTF-8
    if len(os.fsencode(name)) > limit:  # pragma: no cover - odd limit
        name = name[1:]
    seen: list[str] = []
    real_replace = os.replace

    def spy(source, target):
        seen.append(Path(source).name)
        real_replace(source, target)

    monkeypatch.setattr(atomic.os, "replace", spy)
    write_atomic(tmp_path / name, b"data")
    assert (tmp_path / name).read_bytes() == b"data"
    (temporary,) = seen
    assert len(os.fsencode(temporary)) <= limit
    assert temporary.startswith(".é") and temporary.endswith(".tmp")


def test_stale_temporaries_of_a_long_name_are_removed_by_the_next_save(tmp_path, monkeypatch):
    path = tmp_path / ("n" * 250)
    seen: list[str] = []
    real_replace = os.replace

    def spy(source, target):
        seen.append(Path(source).name)
        real_replace(source, target)

    monkeypatch.setattr(atomic.os, "replace", spy)
    write_atomic(path, b"first")
    (used,) = seen
    dead = tmp_path / used.replace(f".{os.getpid()}-", ".999999999-")
    assert dead.name != used
    dead.write_bytes(b"partial")
    write_atomic(path, b"second")
    assert not dead.exists()
    assert path.read_bytes() == b"second"


# ---------------------------------------------------------------------------------------------
# Saving through a symbolic link
# ---------------------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name != "posix", reason="POSIX symlinks")
def test_saving_through_a_symlink_updates_its_target_and_keeps_the_link(tmp_path):
    real_folder = tmp_path / "real"
    real_folder.mkdir()
    target = real_folder / "model.safetensors"
    link = tmp_path / "latest.safetensors"
    nf.save(nf.Sequential(nf.Linear(2, 2, rng=0)), target)
    link.symlink_to(target)
    model = nf.Sequential(nf.Linear(2, 2, rng=1))
    nf.save(model, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert np.array_equal(nf.load(target)[0].weight.value, model[0].weight.value)
    assert _temporaries(tmp_path) == [] and _temporaries(real_folder) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX symlinks")
def test_a_chain_of_relative_symlinks_and_a_dangling_one_are_followed(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").symlink_to("../c")  # relative to the link's own folder
    (tmp_path / "a").symlink_to("sub/b")
    write_atomic(tmp_path / "a", b"one")  # c does not exist yet: created
    assert (tmp_path / "c").read_bytes() == b"one"
    assert (tmp_path / "a").is_symlink() and (tmp_path / "sub" / "b").is_symlink()
    write_atomic(tmp_path / "a", b"two")
    assert (tmp_path / "c").read_bytes() == b"two"


@pytest.mark.skipif(os.name != "posix", reason="POSIX symlinks")
def test_a_symlink_loop_is_a_clear_error_and_leaves_the_links(tmp_path):
    (tmp_path / "x").symlink_to("y")
    (tmp_path / "y").symlink_to("x")
    with pytest.raises(nf.errors.SerializationError, match="cannot write"):
        nf.save(nf.ReLU(), tmp_path / "x")
    assert (tmp_path / "x").is_symlink() and (tmp_path / "y").is_symlink()
    assert _temporaries(tmp_path) == []
