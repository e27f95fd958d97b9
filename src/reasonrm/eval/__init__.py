"""Evaluation on reward-model benchmarks: one module per benchmark (loader and official
scoring), named after the `reasonrm eval` command."""
