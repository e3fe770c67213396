"""Our replacements of parts of Faust's data path, and the topic and table
plumbing every agent uses."""
