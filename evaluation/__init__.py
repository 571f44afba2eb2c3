"""Evaluation: metrics, the runner behind `python -m evaluation`, the LangChain baseline, calibration."""
