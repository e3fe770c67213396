"""The pure decision layer between ``detectors/`` and ``streams/``.

No Faust, Redis or environment here: a step takes state, a record and what it
reads (policy, keys), and returns the new state and the outputs to send.
"""
