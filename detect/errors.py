"""The leak tracer's one error type: a one-line diagnosis a caller can show as is.

`detect` must not import the vault, so it cannot raise the vault's errors; the vault catches
`DetectError` at its boundary, exactly as it does `watermark.WatermarkError`.
"""

from __future__ import annotations


class DetectError(ValueError):
    """A suspect file the tracer cannot work with: what is wrong, then what to do."""

    def __init__(self, problem: str, fix: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        text = f"{self.problem}; {self.fix}" if self.fix else self.problem
        return " ".join(text.split())
