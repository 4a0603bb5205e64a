"""``python -m iamd.cli``."""

from iamd.cli import main

main()
