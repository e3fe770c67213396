"""The Faust agents and timers: decode, call a step, store, send."""
