"""File and folder names as words: meaningful names give words, camera counters and hashes none."""

from __future__ import annotations

import pytest

from core.ingest.pathwords import path_words


@pytest.mark.parametrize(("rel", "words"), [
    ("explore_monuments/france/eiffelTower.jpg", "eiffel tower, france, explore monuments"),
    ("holiday 2019/Beach-Sunset.JPG", "beach sunset, holiday"),
    ("gcompris/erase/red_panda.jpg", "red panda, erase, gcompris"),
    ("categorization/images/fishes/fish25.jpg", "fish, fishes, categorization"),
    ("USCapitol.jpg", "us capitol"),
    ("cat/cat.jpg", "cat"),  # a repeated part is said once
    ("pets\\dog.png", "dog, pets"),  # a Windows separator
])
def test_meaningful_names_become_words(rel: str, words: str) -> None:
    assert path_words(rel) == words


@pytest.mark.parametrize("rel", [
    "IMG_1234.jpg", "DSC0001.JPG", "DCIM/100APPLE/IMG_1234.JPG", "PXL_20230101_120000123.jpg",
    "IMG-20200101-WA0001.jpg", "E016.jpg", "3f2a9c1e-77b0-4f3e-9a1b-0c2d3e4f5a6b.jpg",
    "a1b2c3d4e5f6a7b8.png", "photos/2021/06/12.jpg", "Screenshot 2023-01-01 at 10.00.00.png",
    "",
])
def test_counters_hashes_and_generic_folders_give_nothing(rel: str) -> None:
    assert path_words(rel) == ""


def test_a_meaningful_folder_names_an_unnamed_photo() -> None:
    assert path_words("Paris trip/IMG_0042.jpg") == "paris trip"
