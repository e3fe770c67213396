"""Offline evaluation of the detectors: NAB scoring now, supervision scenarios later."""
