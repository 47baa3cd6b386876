"""Shared utilities below every other layer: files and locks, threads and CPU quota, devices,
the statistics of seeds (mean ± sd, agreement, ties)."""
