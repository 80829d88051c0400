"""``python -m cli …`` is the `tubeflow` command (what the local GPU provider and dev stack spawn)."""

from cli.main import main

main()
