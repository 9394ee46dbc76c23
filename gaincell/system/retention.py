"""Retention consistency: the token period set by the latency, tau, and the leak per step.

A stored value leaks for one token period between two token steps, so the simulation's
``AttentionConfig.leak_per_step`` should equal ``token_period / tau``. The paper's code uses
1.6e-4; with tau = 5 ms that is a token period of 800 ns, close to 12 layers x 65 ns = 780 ns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gaincell._checks import check_positive
from gaincell.device import leak_per_step as _leak

__all__ = ["RetentionLink"]


@dataclass(frozen=True)
class RetentionLink:
    """Link between the token rate, the retention time and the leak per token step.

    Attributes
    ----------
    token_period_s : float
        Time between two token steps, s (n_layers x (layer latency + overhead)).
    tau_s : float
        Retention time constant of the storage node, s.
    config_leak_per_step : float
        The design's ``leak_per_step`` (what the simulation uses), dimensionless.
    window : int
        Window W: the oldest stored token has leaked for W - 1 steps.
    """

    token_period_s: float
    tau_s: float
    config_leak_per_step: float
    window: int

    @property
    def leak_per_step(self) -> float:
        """``token_period / tau``, dimensionless."""
        return _leak(self.token_period_s, self.tau_s)

    @property
    def retained_after_window(self) -> float:
        """Fraction of a stored deviation left when it leaves the window:
        ``exp(-leak_per_step (W - 1))``."""
        return math.exp(-self.leak_per_step * (self.window - 1))

    @property
    def mismatch(self) -> float:
        """``leak_per_step / config_leak_per_step - 1`` (inf when the config has no leak)."""
        if self.config_leak_per_step == 0:
            return math.inf if self.leak_per_step > 0 else 0.0
        return self.leak_per_step / self.config_leak_per_step - 1.0

    @property
    def implied_token_period_s(self) -> float:
        """Token period the config's ``leak_per_step`` implies at this tau, s."""
        return self.config_leak_per_step * self.tau_s

    def with_(self, *, tau_s: float | None = None, token_period_s: float | None = None,
              token_rate_hz: float | None = None) -> "RetentionLink":
        """The same link with another tau (s), token period (s) or token rate (Hz)."""
        if token_period_s is not None and token_rate_hz is not None:
            raise ValueError("give token_period_s or token_rate_hz, not both")
        period = self.token_period_s
        if token_rate_hz is not None:
            check_positive("token_rate_hz", token_rate_hz, "Hz")
            period = 1.0 / token_rate_hz
        elif token_period_s is not None:
            period = token_period_s
        tau = self.tau_s if tau_s is None else tau_s
        out = RetentionLink(period, tau, self.config_leak_per_step, self.window)
        _ = out.leak_per_step  # validates tau > 0 and period >= 0
        return out

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {"token_period_s": self.token_period_s, "tau_s": self.tau_s,
                "leak_per_step": self.leak_per_step,
                "config_leak_per_step": self.config_leak_per_step,
                "relative_mismatch": self.mismatch,
                "implied_token_period_s": self.implied_token_period_s,
                "retained_after_window": self.retained_after_window,
                "window": self.window}
