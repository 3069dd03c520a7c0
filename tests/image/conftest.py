"""tests/image: the SD image under qemu-system-aarch64 (run by scripts/test-image).

The real-client helpers are the interop suite's (tests/interop/clients.py,
mediaclient.py). Every test here needs $KIOKU_IMAGE (the raw image that
image/build made); without it they fail, they are never skipped.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "interop"))
