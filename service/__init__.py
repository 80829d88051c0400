"""The service layer: what starts, reviews and serves workflows, above the rooms it wires together.

``client`` is what the CLI, the API and the autoscaler call to start, review and read productions;
``worker`` builds the Temporal workers from the workflows and activity adapters.
"""
