"""The swap pipeline's one error type: a one-line diagnosis a caller can show as is.

swap/ stands alone (it imports nothing of the vault), so it has its own base; the vault turns
it into its usage error at its boundary.
"""

from __future__ import annotations


class SwapError(ValueError):
    """Input the pipeline cannot work with: what is wrong, then what to do."""

    def __init__(self, problem: str, fix: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        text = f"{self.problem}; {self.fix}" if self.fix else self.problem
        return " ".join(text.split())
