"""Pure detection logic: policy, rolling state, scoring, tiers, alerts, models. No Faust."""
