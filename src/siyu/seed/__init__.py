"""Generated brands for the demo, tests and benchmarks (``siyu seed``, ``siyu demo``)."""
