"""The `tubeflow` command and what it starts on one machine (dev stack, demo): the top floor."""
