"""Every link recorded before the refactor of issue 18 still opens the same figures, tables and notes."""

import json

import pytest
from replay import DATA, replay

RECORDED = json.loads(DATA.read_text())


@pytest.mark.parametrize("link", list(RECORDED))
def test_link_opens_the_same_blocks_as_before(link):
    assert replay(link) == RECORDED[link]
