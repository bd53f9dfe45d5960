"""Signals other apps listen to (branches never imports them)."""

from django.dispatch import Signal

# Sent after the commit that records a recompute run's completion, with `run_id`.
run_finished = Signal()
# Sent when the demo's months are seeded and rated, with `months` (the closed ones, in order).
demo_values_seeded = Signal()
