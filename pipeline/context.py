"""What a step reads besides its state and its record, built once by the worker.

The pure layer reads no environment and keeps no module globals: the worker
loads the policy and the pseudonym key at start-up (``streams.settings``) and
hands the same :class:`StepContext` to every step, so a test builds one in a
line and two contexts (two policies) can run side by side, as a re-grade does.
Time is not here: every step works in event time, taken from its records.

The policy is the one field that changes while a worker runs: an approved
policy version is put in force in the same object every component holds
(:meth:`StepContext.put_in_force`, streams/agents/policy_follow.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from detectors.policy import Policy


@dataclass(slots=True)
class StepContext:
    """The policy in force and the deployment's key for the pseudonyms of people.

    ``pseudonym_key`` keys the linkage groups of legal representatives
    (:func:`detectors.cross_sector.linkage_group`); it is a secret, so it is
    kept out of the repr.
    """

    policy: Policy
    pseudonym_key: bytes = field(repr=False)

    def put_in_force(self, policy: Policy) -> None:
        """Every step reads ``policy`` from its next record on (issue 17: a policy
        version approved while the worker runs)."""
        self.policy = policy
