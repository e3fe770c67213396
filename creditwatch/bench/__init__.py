"""``creditwatch bench``: throughput, latency, state size and recovery on one machine.

One run starts an embedded broker, pre-loads the same simulated input and
measures, in order: a raw aiokafka consumer (the practical limit), a bare
hand-written Faust app (what Faust costs), the creditwatch pipeline, live
event-to-alert latency at fixed offered rates, subject-state size and memory,
and changelog recovery time. Modules split the jobs:

| module | job |
|---|---|
| :mod:`.report` | rows, the table, JSON, rate/ratio arithmetic |
| :mod:`.histogram` | Prometheus histogram parsing and quantile interpolation |
| :mod:`.kafka_io` | pre-loading with aiokafka, produced-offset bookkeeping, group commits |
| :mod:`.raw_consume` | phase (a): raw consume |
| :mod:`.bare_faust` | phase (b): the bare Faust app, run as a child process |
| :mod:`.throughput` | phases (b) and (c): time a Faust consumer group through the input |
| :mod:`.latency` | paced live traffic, event-to-alert quantiles |
| :mod:`.state_size` | subject-state bytes and RSS of N states held in a dict |
| :mod:`.recovery` | worker start-up time over a pre-filled table changelog |
| :mod:`.profile` | py-spy sampling of the worker and a top-functions summary |
| :mod:`.runner` | the whole run, in order, with clean shutdown |
"""
