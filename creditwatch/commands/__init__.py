"""Sub-commands of the ``creditwatch`` CLI, one module each.

Every module exposes ``register(subparsers)``, which adds its parser and sets
``func`` (a callable taking the parsed namespace and returning an exit code).
"""
