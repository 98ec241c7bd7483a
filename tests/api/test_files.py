"""convsim.files: only regular files are read, within a limit; writes are atomic
and clean up after killed writes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from convsim import errors, files


def test_a_fifo_is_refused_at_once_instead_of_blocking(tmp_path):
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    with pytest.raises(errors.NotARegularFileError, match="FIFO"):
        files.read_bytes(fifo, 1000, "image")


def test_a_symlink_to_a_device_is_refused(tmp_path):
    link = tmp_path / "x.jpg"
    link.symlink_to("/dev/zero")
    with pytest.raises(errors.NotARegularFileError, match="device"):
        files.regular_file(link, "image")


def test_missing_folder_and_broken_link(tmp_path):
    with pytest.raises(errors.MissingFileError, match="No image found"):
        files.regular_file(tmp_path / "none.png", "image")
    (tmp_path / "broken").symlink_to(tmp_path / "nowhere")
    with pytest.raises(errors.MissingFileError):
        files.regular_file(tmp_path / "broken")
    with pytest.raises(errors.IsAFolderError, match="is a folder"):
        files.regular_file(tmp_path)


def test_a_file_over_the_limit_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 101)
    with pytest.raises(errors.FileTooLargeError, match="101 bytes.*at most 100"):
        files.read_bytes(big, 100, "model file")
    assert files.read_bytes(big, 101) == b"x" * 101


def test_atomic_write_replaces_whole_files_only(tmp_path):
    target = tmp_path / "model.convsim"
    files.atomic_write(target, lambda f: f.write(b"first"))

    def broken(handle):
        handle.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        files.atomic_write(target, broken)
    assert target.read_bytes() == b"first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.convsim"]


@pytest.mark.subprocess
def test_leftovers_of_a_killed_write_are_removed_by_the_next_write(tmp_path):
    target = tmp_path / "model.convsim"
    # a child process starts a write and is killed in the middle of it
    script = ("import os, sys\nfrom convsim import files\n"
              "def write(f):\n    f.write(b'half'); f.flush(); os._exit(9)\n"
              "files.atomic_write(sys.argv[1], write)\n")
    done = subprocess.run([sys.executable, "-c", script, str(target)])
    assert done.returncode == 9
    leftovers = list(tmp_path.glob(".model.convsim.*.tmp"))
    assert len(leftovers) == 1 and not target.exists()
    files.atomic_write(target, lambda f: f.write(b"whole"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.convsim"]
    assert target.read_bytes() == b"whole"


def test_check_can_write_before_long_work(tmp_path):
    with pytest.raises(errors.MissingFileError, match="does not exist"):
        files.check_can_write(tmp_path / "no" / "model.convsim", "model")
    with pytest.raises(errors.IsAFolderError, match="it is a folder"):
        files.check_can_write(tmp_path, "model")
    assert files.check_can_write(tmp_path / "model.convsim") == (
        tmp_path / "model.convsim")


def test_read_bytes_checks_the_open_handle_too(tmp_path, monkeypatch):
    """A path swapped for a FIFO between the check and the open cannot make
    convsim wait: the open does not block and the handle is checked again."""
    fifo = tmp_path / "swapped.jpg"
    os.mkfifo(fifo)
    monkeypatch.setattr(files, "regular_file", lambda path, what: fifo)
    with pytest.raises(errors.NotARegularFileError, match="FIFO"):
        files.read_bytes(fifo, 1000, "picture file")
