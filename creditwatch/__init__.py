"""creditwatch: risk monitoring and early warning for credit-based market supervision."""

__version__ = "0.1.0"
