"""Topic contracts: record types, validation and the topic catalogue.

One module per topic family. Input topics (``enforcement``, ``complaints``,
``iot``) pair a typed ``faust.Record`` with a validating decoder; output
topics (``risk``) are the public contracts departments subscribe to.
"""
