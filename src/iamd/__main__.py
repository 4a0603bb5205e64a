"""``python -m iamd``: the command line."""

from iamd.cli import main

main()
