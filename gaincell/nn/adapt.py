"""The paper's adaptation (initialization) algorithm for the nonlinear hardware model.

Before fine-tuning the nonlinear gain-cell model, the gains and offsets of its per-head
affine scalers (q, k, v and output of every layer) are set so that the mean and standard
deviation of each scaler's output match those recorded from a reference model (the trained
linear hardware model), layer by layer, head by head. Update rules (CODE,
utils/llms_training_utils.py ``calibration_algorithm``; shared/reference/paper_numbers.md):

    a <- alpha * a * sigma_target / sigma + (1 - alpha) * a      (if |sigma - sigma_target| > tol)
    b <- alpha * (b + mu_target - mu) + (1 - alpha) * b           (if |mu - mu_target| > tol)

with the step weight alpha falling linearly from 1 to 0.1 over the first 50 iterations (then
0.1), every scaler of every layer updated after one forward pass on a fixed calibration
batch, stopping when every error is below ``tol`` = 1e-4 (absolute, in the scaler's output
unit) or after 100 iterations. Statistics are over (batch, token, feature) per head.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from gaincell.nn._torch import torch
from gaincell.nn.model import GPT, SCALER_NAMES

__all__ = ["record_targets", "adapt", "AdaptReport", "scaler_stats", "init_from_float"]

#: Schedule of the paper (CODE, utils/llms_training_utils.py).
ADAPT_TOL = 1e-4
ADAPT_MAX_ITER = 100
ADAPT_ALPHA_MAX = 1.0
ADAPT_ALPHA_MIN = 0.1
ADAPT_ALPHA_STEPS = 50


def _check_names(scalers) -> tuple[str, ...]:
    scalers = tuple(scalers)
    bad = sorted(set(scalers) - set(SCALER_NAMES))
    if bad or not scalers:
        raise ValueError(f"scalers = {scalers!r}: allowed a non-empty subset of {SCALER_NAMES}")
    return scalers


@torch.no_grad()
def scaler_stats(model: GPT, batch, scalers=SCALER_NAMES) -> tuple[dict, float]:
    """One forward pass on ``batch = (x, y)``; returns ``({(layer, name): (mean, std)}, loss)``
    with per-head float64 tensors of shape (H,)."""
    scalers = _check_names(scalers)
    was = model.training
    model.eval()
    mods = [(li, n, att.scalers[n]) for li, att in enumerate(model.attentions())
            for n in scalers]
    for _, _, s in mods:
        s.recording = True
    try:
        _, loss = model(*batch)
    finally:
        for _, _, s in mods:
            s.recording = False
        model.train(was)
    return {(li, n): (s.last_mean.clone(), s.last_std.clone()) for li, n, s in mods}, \
        float(loss)


def record_targets(model: GPT, batches, scalers=SCALER_NAMES) -> dict:
    """Target statistics of a reference model: per (layer, scaler) the per-head mean and
    standard deviation of the scaler output, averaged over ``batches`` (list of (x, y))."""
    batches = list(batches)
    if not batches:
        raise ValueError("batches is empty: allowed at least one (x, y) batch")
    acc: dict = {}
    for b in batches:
        st, _ = scaler_stats(model, b, scalers)
        for k, (m, s) in st.items():
            pm, ps = acc.get(k, (0.0, 0.0))
            acc[k] = (pm + m / len(batches), ps + s / len(batches))
    return acc


@dataclass
class AdaptReport:
    """Convergence record of :func:`adapt`.

    ``history[i]`` holds, before the i-th update: ``iter``, ``alpha``, ``loss`` (nats/char on
    the calibration batch), ``max_std_err`` and ``max_mean_err`` (largest absolute errors over
    every layer, scaler and head) and ``n_done`` of ``n_total`` statistics within ``tol``.
    """

    tol: float
    max_iter: int
    converged: bool = False
    iterations: int = 0
    history: list = field(default_factory=list)
    worst: list = field(default_factory=list)

    def summary(self) -> str:
        h0, h1 = self.history[0], self.history[-1]
        state = (f"converged after {self.iterations} iterations" if self.converged else
                 f"not converged to tol = {self.tol:g} after {self.iterations} iterations")
        return (f"adaptation {state}: calibration loss {h0['loss']:.4f} -> {h1['loss']:.4f}; "
                f"max |std err| {h0['max_std_err']:.3g} -> {h1['max_std_err']:.3g}, "
                f"max |mean err| {h0['max_mean_err']:.3g} -> {h1['max_mean_err']:.3g}; "
                f"{h1['n_done']}/{h1['n_total']} statistics within tol")

    def to_dict(self) -> dict:
        return asdict(self)


@torch.no_grad()
def adapt(model: GPT, targets: dict, batch, scalers=SCALER_NAMES, tol: float = ADAPT_TOL,
          max_iter: int = ADAPT_MAX_ITER, alpha_max: float = ADAPT_ALPHA_MAX,
          alpha_min: float = ADAPT_ALPHA_MIN, alpha_steps: int = ADAPT_ALPHA_STEPS,
          progress: bool = False) -> AdaptReport:
    """Adapt the scalers of ``model`` in place to the ``targets`` of :func:`record_targets`.

    Parameters
    ----------
    model : GPT
        A hardware-variant model (its scalers are changed in place).
    targets : dict
        ``{(layer, scaler): (mean, std)}`` per-head tensors from the reference model.
    batch : (x, y)
        The fixed calibration batch.
    scalers : names among ``("q", "k", "v", "out")`` to adapt.
    tol : float
        Absolute tolerance on every mean and standard deviation (scaler output unit).
    max_iter, alpha_max, alpha_min, alpha_steps
        Iteration cap and step-weight schedule (defaults: the paper's).
    """
    scalers = _check_names(scalers)
    if not tol > 0:
        raise ValueError(f"tol = {tol!r}: allowed > 0")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter = {max_iter!r}: allowed an integer >= 1")
    if not 0 < alpha_min <= alpha_max <= 1:
        raise ValueError(f"alpha_min = {alpha_min!r}, alpha_max = {alpha_max!r}: allowed "
                         f"0 < alpha_min <= alpha_max <= 1")
    missing = [(li, n) for li in range(len(model.attentions())) for n in scalers
               if (li, n) not in targets]
    if missing:
        raise ValueError(f"targets lack statistics for (layer, scaler) {missing[:4]}")
    if model.cfg.attention == "softmax":
        raise ValueError("model.cfg.attention = 'softmax': allowed a hardware variant "
                         "('linear' or 'nonlinear')")
    schedule = torch.linspace(alpha_max, alpha_min, alpha_steps, dtype=torch.float64)
    rep = AdaptReport(tol=float(tol), max_iter=int(max_iter))
    it = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=max_iter, desc="adapt", leave=False)
    while True:
        stats, loss = scaler_stats(model, batch, scalers)
        alpha = float(schedule[it]) if it < alpha_steps else alpha_min
        n_done = n_total = 0
        max_s = max_m = 0.0
        worst = []
        for (li, n), (mu, sd) in stats.items():
            t_mu, t_sd = (x.to(torch.float64) for x in targets[(li, n)])
            sc = model.attentions()[li].scalers[n]
            a, b = sc.a.data.double(), sc.b.data.double()
            s_err = (sd - t_sd).abs()
            m_err = (mu - t_mu).abs()
            upd_a = (s_err > tol) & (sd != 0)
            upd_b = m_err > tol
            new_a = torch.where(upd_a, alpha * a * t_sd / torch.where(sd != 0, sd, 1.0)
                                + (1 - alpha) * a, a)
            new_b = torch.where(upd_b, alpha * (b + t_mu - mu) + (1 - alpha) * b, b)
            sc.a.data.copy_(new_a.to(sc.a.dtype))
            sc.b.data.copy_(new_b.to(sc.b.dtype))
            n_done += int((s_err <= tol).sum()) + int((m_err <= tol).sum())
            n_total += 2 * s_err.numel()
            max_s, max_m = max(max_s, float(s_err.max())), max(max_m, float(m_err.max()))
            worst.append((f"L{li}.{n}", float(s_err.max()), float(m_err.max())))
        rep.history.append(dict(iter=it, alpha=alpha, loss=loss, max_std_err=max_s,
                                max_mean_err=max_m, n_done=n_done, n_total=n_total))
        rep.worst = sorted(worst, key=lambda w: -max(w[1], w[2]))[:5]
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", std_err=f"{max_s:.2g}", mean_err=f"{max_m:.2g}")
        if n_done == n_total:
            rep.converged = True
            break
        it += 1
        if it >= max_iter:
            break
    if not rep.converged:  # measure the state the last update left
        stats, loss = scaler_stats(model, batch, scalers)
        errs = [(float((sd - targets[k][1].double()).abs().max()),
                 float((mu - targets[k][0].double()).abs().max()),
                 int(((sd - targets[k][1].double()).abs() <= tol).sum()
                     + ((mu - targets[k][0].double()).abs() <= tol).sum()))
                for k, (mu, sd) in stats.items()]
        rep.history.append(dict(iter=it, alpha=None, loss=loss,
                                max_std_err=max(e[0] for e in errs),
                                max_mean_err=max(e[1] for e in errs),
                                n_done=sum(e[2] for e in errs), n_total=n_total))
        rep.converged = rep.history[-1]["n_done"] == n_total
    if bar is not None:
        bar.close()
    rep.iterations = it
    return rep


#: Range rule of :func:`init_from_float`: this many standard deviations of a float
#: projection fill half of the hardware range (a choice of this package, not the paper's).
INIT_N_SIGMA = 2.0


@torch.no_grad()
def init_from_float(hw: GPT, ref: GPT, batch, n_sigma: float = INIT_N_SIGMA,
                    progress: bool = False) -> AdaptReport:
    """Initialize a hardware model's scalers from the float (softmax) model it was copied from.

    The paper starts the linear model from ``a = 1`` and ``b`` = range bottom (q) or middle
    (k, v); with a small model and short fine-tuning this wastes the converters' range, so here
    the gains are set from the reference model's per-head projection statistics (sigma):

    - q: ``a = (q_hi - q_lo) / (n_sigma sigma_q)``, ``b = q_lo`` (the paper's offset: negative
      query components are clipped, no per-key bias is introduced);
    - k, v: ``a = ((kv_hi - kv_lo) / 2) / (n_sigma sigma)``, ``b = (kv_lo + kv_hi) / 2 - a mu``
      (centered on the zero-weight voltage);

    then the output scalers are adapted (:func:`adapt`, ``scalers=("out",)``) so that each
    head's output matches the mean and spread of the reference attention output.
    Returns the adaptation report of the output scalers.
    """
    if ref.cfg.attention != "softmax":
        raise ValueError("ref must be a softmax model: allowed ref.cfg.attention == 'softmax'")
    if not n_sigma > 0:
        raise ValueError(f"n_sigma = {n_sigma!r}: allowed > 0")
    stats = record_targets(ref, [batch])
    dev = hw.attentions()[0].core.cfg.device
    for li, att in enumerate(hw.attentions()):
        mu, sd = stats[(li, "q")]
        sd = sd.clamp(min=1e-12)
        a = (dev.q_hi - dev.q_lo) / (n_sigma * sd)
        att.scalers["q"].a.data.copy_(a.float())
        att.scalers["q"].b.data.fill_(dev.q_lo)
        for n in ("k", "v"):
            mu, sd = stats[(li, n)]
            a = 0.5 * (dev.kv_hi - dev.kv_lo) / (n_sigma * sd.clamp(min=1e-12))
            att.scalers[n].a.data.copy_(a.float())
            att.scalers[n].b.data.copy_((0.5 * (dev.kv_lo + dev.kv_hi) - a * mu).float())
    return adapt(hw, stats, batch, scalers=("out",), progress=progress)
