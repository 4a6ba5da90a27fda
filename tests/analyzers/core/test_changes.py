"""ChangeSet on real ``git diff`` output."""

from __future__ import annotations

import pytest

from faultline.analyzers.core.changes import (
    ChangeSet,
    DiffError,
    FileStatus,
    diff_texts,
    file_change_from_patch,
)
from tests.conftest import GitRepo

DIFF_ARGS = ("diff", "--no-color", "-M", "--src-prefix=a/", "--dst-prefix=b/")


def _diff(repo: GitRepo) -> ChangeSet:
    repo.git("add", "-A")
    return ChangeSet.from_diff(repo.git(*DIFF_ARGS, "--cached", "HEAD"))


def test_statuses_and_added_lines(git_repo: GitRepo) -> None:
    git_repo.write("keep.py", "a = 1\nb = 2\nc = 3\n")
    git_repo.write("gone.py", "x = 1\n")
    git_repo.write("old_name.py", "".join(f"line{i} = {i}\n" for i in range(20)))
    git_repo.write("image.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    git_repo.commit("base")
    git_repo.write("keep.py", "a = 1\nb = 20\nc = 3\nd = 4\n")
    (git_repo.root / "gone.py").unlink()
    (git_repo.root / "old_name.py").rename(git_repo.root / "new_name.py")
    git_repo.write("new_name.py", "".join(f"line{i} = {i}\n" for i in range(20)) + "extra = 1\n")
    git_repo.write("image.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\1")
    git_repo.write("added.py", "first = 1\nsecond = 2\n")

    changes = _diff(git_repo)

    assert changes.get("keep.py").status is FileStatus.MODIFIED
    assert changes.get("keep.py").added_lines == {2, 4}
    assert changes.get("keep.py").in_hunk(1) and not changes.get("keep.py").is_added(1)
    assert changes.get("gone.py").status is FileStatus.REMOVED
    renamed = changes.get("new_name.py")
    assert renamed.status is FileStatus.RENAMED and renamed.old_path == "old_name.py"
    assert renamed.added_lines == {21} and renamed.base_path == "old_name.py"
    assert not renamed.in_hunk(5)  # far from the change: GitHub would refuse a comment there
    assert changes.get("image.png").status is FileStatus.BINARY
    assert changes.get("added.py").status is FileStatus.ADDED
    assert changes.get("added.py").added_lines == {1, 2}


def test_no_newline_at_end_and_crlf(git_repo: GitRepo) -> None:
    git_repo.write("nonl.txt", "x\ny")
    git_repo.write("crlf.txt", "a\r\nb\r\nc\r\n")
    git_repo.commit("base")
    git_repo.write("nonl.txt", "x\nyz\n")
    git_repo.write("crlf.txt", "a\r\nB\r\nc\r\n")
    changes = _diff(git_repo)
    assert changes.get("nonl.txt").added_lines == {2}
    assert changes.get("nonl.txt").base_text("x\nyz\n") == "x\ny"
    assert changes.get("crlf.txt").added_lines == {2}
    new = (git_repo.root / "crlf.txt").read_bytes().decode()
    assert changes.get("crlf.txt").base_text(new) == "a\r\nb\r\nc\r\n"


def test_base_text_rebuilds_the_old_version(git_repo: GitRepo) -> None:
    old = "".join(f"v{i} = {i}\n" for i in range(40))
    git_repo.write("m.py", old)
    git_repo.commit("base")
    lines = old.splitlines(keepends=True)
    lines[3] = "changed = 1\n"
    del lines[10:13]
    lines.insert(30, "inserted = 2\n")
    new = "".join(lines)
    git_repo.write("m.py", new)
    change = _diff(git_repo).get("m.py")
    assert change.base_text(new) == old


def test_empty_diff_is_an_empty_changeset() -> None:
    assert len(ChangeSet.from_diff("")) == 0
    assert len(ChangeSet.from_diff("\n\n")) == 0


def test_garbage_is_a_diff_error() -> None:
    with pytest.raises(DiffError):
        ChangeSet.from_diff("this is not a diff\n")


def test_github_style_patch_without_headers() -> None:
    patch = "@@ -1,2 +1,3 @@\n a = 1\n+b = 2\n c = 3\n@@ -10,1 +11,2 @@\n x\n+y"
    change = file_change_from_patch("m.py", patch, FileStatus.MODIFIED)
    assert change.added_lines == {2, 12}
    assert change.hunks == ((1, 3), (11, 12))


def test_diff_texts_matches_difflib() -> None:
    change = diff_texts("m.py", "a\nb\nc\n", "a\nB\nc\nd\n")
    assert change.added_lines == {2, 4}
    new_file = diff_texts("n.py", None, "a\nb\n")
    assert new_file.status is FileStatus.ADDED and new_file.added_lines == {1, 2}
    assert diff_texts("m.py", "same\n", "same\n").added_lines == frozenset()


def test_whole_changeset_counts_every_line() -> None:
    changes = ChangeSet.whole(["a.py"])
    assert changes.whole_files and changes.get("a.py").is_added(12345)


@pytest.mark.parametrize("separator", ["\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\r"])
def test_base_text_splits_lines_as_git_does(git_repo: GitRepo, separator: str) -> None:
    # str.splitlines breaks at each of these too: a line holding one, above a hunk,
    # would shift the hunk and rebuild a base version that never existed.
    old = f"top = 1\nx = 1  # {separator} here\n" + "".join(f"v{i} = {i}\n" for i in range(10))
    git_repo.write("m.py", old)
    git_repo.commit("base")
    new = old.replace("v7 = 7\n", "v7 = 70\nextra = 1\n")
    git_repo.write("m.py", new)
    change = _diff(git_repo).get("m.py")
    assert change.added_lines == {10, 11}
    assert change.base_text(new) == old
