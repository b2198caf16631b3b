"""The scheduled refresh: sync → check → candidate build → promotion gate → rescore → push →
alerts (:mod:`icpkit.refresh.run`), and the gate itself (:mod:`icpkit.refresh.gate`)."""
