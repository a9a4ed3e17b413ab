import sys

import pytest

from neural_style.torch.heap import keep_freed_memory, return_freed_memory

glibc_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator only")


@glibc_only
def test_allocator_keeps_freed_memory_on_request_and_repeatedly():
    assert keep_freed_memory() is True
    assert keep_freed_memory() is True


@glibc_only
def test_allocator_goes_back_to_its_defaults_on_request():
    keep_freed_memory()
    assert return_freed_memory() is True
