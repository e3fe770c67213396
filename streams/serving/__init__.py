"""The Redis serving view: derived from the output topics, rebuilt from them."""
