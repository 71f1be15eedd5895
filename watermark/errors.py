"""The watermark library's one error type: a one-line diagnosis a caller can show as is.

The library knows nothing of the vault, so it cannot raise the vault's errors; the vault
catches `WatermarkError` at its boundary and re-raises it as its own usage error.
"""

from __future__ import annotations


class WatermarkError(ValueError):
    """Input the watermark cannot work with: what is wrong, then what to do."""

    def __init__(self, problem: str, fix: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        text = f"{self.problem}; {self.fix}" if self.fix else self.problem
        return " ".join(text.split())
