"""Signals other apps listen to (branches never imports them)."""

from django.dispatch import Signal

# Sent after the commit that records a recompute run's completion, with `run_id`.
run_finished = Signal()
# Sent when the demo's months are seeded and rated, with `months` (the closed ones, in order).
demo_values_seeded = Signal()
# Sent by `services.notifications` inside the caller's transaction, with `notices` (a list
# of Notice: recipient ids, unit, text, url); governance stores the notifications.
notification_requested = Signal()
# Sent by the demo before its months are rated, with `months` (the closed ones, in order),
# `today`, `seed` and `scale`: the records apps seed theirs here, so the ratings see them.
demo_records_seeding = Signal()
# Sent first by the demo reset, inside its transaction: the records apps delete their rows.
demo_records_reset = Signal()
