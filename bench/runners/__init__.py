"""Runners execute the cells of a plan and append measurements to a report."""
