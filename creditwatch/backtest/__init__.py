"""``creditwatch policy backtest``: the record store's history replayed under two policies.

``history`` reads the stored input records back in event-time order,
``replay`` runs them through the pure steps under the current and the new
policy side by side, ``compare`` says what differs, ``report`` prints it and
``page`` writes the HTML page (docs/backtest.md).
"""
