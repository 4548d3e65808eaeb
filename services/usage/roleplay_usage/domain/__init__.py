"""Usage rules with no I/O: buckets and latency histograms."""
