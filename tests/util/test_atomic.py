"""Crash-safe writes: the final path holds either the old or the complete new content, never a partial file."""
import pytest

from util.atomic import write_atomically, write_text_atomically


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
