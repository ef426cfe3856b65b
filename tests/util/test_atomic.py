"""Crash-safe writes: the final path holds either the old or the complete new content, never a partial file."""
import pytest

from util.atomic import NewFolder, write_atomically, write_text_atomically


def test_text_is_written_and_no_temporary_file_remains(tmp_path):
    path = tmp_path / "opt.txt"
    write_text_atomically(path, "a\n")
    write_text_atomically(path, "b\n")
    assert path.read_text() == "b\n"
    assert [p.name for p in tmp_path.iterdir()] == ["opt.txt"]


def test_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path):
    path = tmp_path / "latest_net_G0.pth"
    path.write_bytes(b"old")

    def crash(temporary: str) -> None:
        with open(temporary, "wb") as handle:
            handle.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, crash)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["latest_net_G0.pth"]


def test_temporary_name_keeps_the_extension(tmp_path):
    seen = []
    write_atomically(tmp_path / "frame.jpg", lambda temporary: (seen.append(temporary), open(temporary, "w").close()))
    assert seen[0].endswith(".jpg") and (tmp_path / "frame.jpg").exists()


def test_new_folder_removes_the_folders_it_made_when_the_block_fails(tmp_path) -> None:
    (tmp_path / "kept").mkdir()
    with pytest.raises(KeyboardInterrupt), NewFolder(tmp_path / "kept" / "a" / "b") as folder:
        assert folder.is_dir()
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["kept"]  # a/b made here went, kept stayed
    with NewFolder(tmp_path / "kept" / "c") as folder:
        (folder / "file").write_text("x")
    assert (tmp_path / "kept" / "c" / "file").is_file()  # success keeps everything
    with pytest.raises(ValueError), NewFolder(tmp_path / "kept" / "d") as folder:
        (folder / "file").write_text("x")
        raise ValueError
    assert (tmp_path / "kept" / "d" / "file").is_file()  # a folder with something in it is never removed
