"""Evaluation: `python -m unclip eval --model NAME [--json]` (see unclip/eval/report.py)."""
