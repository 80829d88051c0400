"""GPU worker autoscaling: backlog-driven, scale-to-zero, spot-safe, with cost and metrics.

The control plane (API, main worker, this autoscaler) is always on and cheap; GPU workers exist
only while the ``tubeflow-gpu`` task queue has work.  See :mod:`autoscaler.controller`.
"""
