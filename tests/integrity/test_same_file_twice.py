"""The same file (by path, by another path to it, or by a copy) given for two classes, or
twice in one list, is refused before it is read."""

from __future__ import annotations

import os
import shutil

import pytest

from hepdl.data.labels import labels_from_files
from hepdl.data.splits import check_disjoint_files
from hepdl.errors import DataError


@pytest.fixture
def jets(tmp_path):
    from tests.conftest import write_feature_file

    return write_feature_file(tmp_path / "jets.parquet", n=100)


def test_a_link_to_one_file_for_two_classes_is_refused(tmp_path, jets):
    link = tmp_path / "link.parquet"
    os.symlink(jets, link)
    with pytest.raises(DataError) as err:
        labels_from_files({"qcd": [jets], "top": [str(link)]})
    assert str(err.value) == (
        f"{link} is in class 'top' and {jets} in class 'qcd': the same file in two classes; "
        "expected each class its own files"
    )


def test_a_copy_for_two_classes_is_refused(tmp_path, jets):
    copy = tmp_path / "copy.parquet"
    shutil.copyfile(jets, copy)
    with pytest.raises(DataError) as err:
        labels_from_files({"qcd": jets, "top": str(copy)})
    assert str(err.value) == (
        f"{copy} is in class 'top' and {jets} in class 'qcd': the same file in two classes "
        "(equal contents); expected each class its own files"
    )


def test_one_file_twice_in_data_files_is_refused(jets):
    with pytest.raises(DataError) as err:
        check_disjoint_files({"data.files": [jets, jets]})
    assert str(err.value) == (
        f"{jets} is given twice in data.files (as the same file as {jets}); expected each "
        "file once, or its rows count twice and reach more than one split"
    )


def test_different_files_of_equal_size_pass(tmp_path):
    from tests.conftest import write_feature_file

    one = write_feature_file(tmp_path / "one.parquet", n=100, seed=1)
    two = write_feature_file(tmp_path / "two.parquet", n=100, seed=2)
    check_disjoint_files({"class 'a'": [one], "class 'b'": [two]})
