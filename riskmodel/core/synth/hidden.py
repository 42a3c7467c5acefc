"""Hidden risk: what no record shows, and the best probability a model could still give.

Real overstay risk has a large part that no border record shows. The generator
adds three things on top of :func:`~riskmodel.core.synth.generator.true_logit`:

* a **persistent latent propensity** per traveller, ``u ~ N(0, sd_u)``, and each
  stay's own **noise** ``e ~ N(0, sd_e)``, both on the logit scale, with
  ``sd_u**2 + sd_e**2 = hidden_sd**2``;
* a small share of **exits at land ports that go unrecorded**: the traveller left
  on time but the log shows no exit, so the stay looks like an overstay;
* a **base-rate drift** over the years (log-odds per year, centred on 2020).

The **observable oracle** is the probability of the *recorded* label given what
is recorded at entry and the traveller's earlier recorded outcomes: the latent
``u`` is integrated out under its posterior given those outcomes
(Gauss-Hermite quadrature over ``u``, and over ``e`` inside each node), so
``P(y_j | f_j, y_1..y_{j-1}) = sum_k w_k L_k g_jk / sum_k w_k L_k`` with
``g_jk = pi(f_j + u_k) + (1 - pi(f_j + u_k)) q_j`` (``pi`` the stay noise
integrated out, ``q_j`` the chance an on-time exit goes unrecorded) and ``L_k``
the likelihood of the earlier recorded outcomes at node ``u_k``.

The new draws come from their own random stream (seeded from the dataset's
seed), so with everything hidden set to zero the data are those of the
generator without hidden risk, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["HiddenRisk", "HiddenDraws"]

#: Variance share of the hidden part that stays with the traveller (the rest is per stay).
TRAVELLER_SHARE = 0.64
#: Quadrature nodes over the latent and over the stay noise.
_U_NODES, _E_NODES = 24, 10
#: Rows per block when evaluating the quadrature (bounds memory at ~100 MB).
_BLOCK = 40_000


@dataclass(frozen=True)
class HiddenRisk:
    """Settings of the hidden part of the risk.

    Attributes
    ----------
    sd : float
        Total standard deviation of the hidden logit (latent + stay noise).
    unrecorded_exit_share : float
        Share of exits at land ports that leave no record.
    drift_per_year : float
        Change of the log-odds per year (centred on 2020-01-01).
    """

    sd: float = 1.0
    unrecorded_exit_share: float = 0.002
    drift_per_year: float = 0.08

    @property
    def sd_traveller(self) -> float:
        return self.sd * np.sqrt(TRAVELLER_SHARE)

    @property
    def sd_stay(self) -> float:
        return self.sd * np.sqrt(1.0 - TRAVELLER_SHARE)

    @property
    def active(self) -> bool:
        return bool(self.sd or self.unrecorded_exit_share or self.drift_per_year)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class HiddenDraws:
    """The hidden draws of one dataset and the running posterior of each traveller's latent.

    Parameters
    ----------
    settings : HiddenRisk
    rng : Generator
        A stream apart from the generator's own.
    n_travellers : int
    drift : ndarray of float
        The drift term of each trip (log-odds).
    land_exit : ndarray of float
        Each trip's chance of leaving by a land port, given what is known at entry.
    land_exit_drawn : ndarray of bool
        Whether the trip's drawn exit port is a land port.
    """

    def __init__(self, settings: HiddenRisk, rng: np.random.Generator, n_travellers: int, drift, land_exit, land_exit_drawn):
        n = len(drift)
        self.settings = settings
        self.drift = drift
        self.latent = rng.normal(0.0, 1.0, n_travellers) * settings.sd_traveller
        self.noise = rng.normal(0.0, 1.0, n) * settings.sd_stay
        self.unrecorded = land_exit_drawn & (rng.random(n) < settings.unrecorded_exit_share)
        self.q = settings.unrecorded_exit_share * np.asarray(land_exit, float)
        x, w = np.polynomial.hermite.hermgauss(_U_NODES)
        self.u_nodes = np.sqrt(2.0) * settings.sd_traveller * x
        self.log_w = np.log(w / np.sqrt(np.pi))
        xe, we = np.polynomial.hermite.hermgauss(_E_NODES)
        self.e_nodes = np.sqrt(2.0) * settings.sd_stay * xe
        self.e_w = we / np.sqrt(np.pi)
        self.loglik = np.zeros((n_travellers, _U_NODES))

    def step(self, t: np.ndarray, idx: np.ndarray, f: np.ndarray, u_over: np.ndarray):
        """Outcomes of trips ``idx`` (travellers ``t``) whose visible log-odds are ``f``.

        Returns
        -------
        tuple of ndarray
            ``p`` (true overstay probability), ``over`` (drawn overstay), ``recorded``
            (the label the log will show: overstay or an unrecorded exit), ``p_full``
            (probability of the recorded label given everything, latent included)
            and ``p_observable`` (the observable oracle).
        """
        f = f + self.drift[idx]
        p = _sigmoid(f + self.latent[t] + self.noise[idx])
        over = u_over < p
        q = self.q[idx]
        recorded = over | self.unrecorded[idx]
        p_full = p + (1.0 - p) * q
        p_obs = np.empty(len(idx))
        for lo in range(0, len(idx), _BLOCK):
            s = slice(lo, lo + _BLOCK)
            # pi(f + u_k): the stay noise integrated out at each latent node
            z = f[s, None, None] + self.u_nodes[None, :, None] + self.e_nodes[None, None, :]
            g = _sigmoid(z) @ self.e_w
            g = g + (1.0 - g) * q[s, None]
            post = self.log_w + self.loglik[t[s]]
            post = np.exp(post - post.max(axis=1, keepdims=True))
            p_obs[s] = (post * g).sum(axis=1) / post.sum(axis=1)
            self.loglik[t[s]] += np.log(np.where(recorded[s, None], g, 1.0 - g))
        return p, over, recorded, p_full, p_obs
