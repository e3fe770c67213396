"""The Faust application: agents, tables, sinks and web views."""
