"""Usage rules with no I/O: which calls are acceptable, buckets, totals, latency histograms and
the reports read from them."""
