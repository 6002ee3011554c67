"""siyu's benchmarks. Each prints its figures next to a reference run on the same data in the same
process (the ratio is what to compare between machines); results are recorded in docs/benchmarks.md."""
