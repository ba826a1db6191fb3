"""Dashboard: the page, its assets and its read APIs over pre-aggregated counters."""
