"""The public disclosure site (信用中国-style) and the rendering of credit reports.

A read-only aiohttp server of its own (``creditwatch public-site``), separate
from the worker and its officials' API; see ``docs/public-site.md``.
"""
