import sys

import pytest

from neural_style.heap import keep_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator is tuned on Linux only")
def test_allocator_is_tuned_once_and_stays_tuned():
    assert keep_freed_memory() is True
    assert keep_freed_memory() is True
