"""A deployment's own labels added to what the bundled heads know.

``churn-detector train --data`` does not start from nothing: each head's weights are moved
towards the user's rows under a Gaussian prior centred on the bundled weights, i.e. they
minimise the (label-balanced) log-loss on the rows plus ``strength / 2 * ||W - W_bundled||^2``,
with ``strength = prior / (C * n)``: ``C`` of the bundled heads' training settings, ``n`` the
user's rows and ``prior`` the recipe's ``TrainConfig.adapt_prior`` (0.25, chosen on folds),
so a few rows per label shift the decision where they disagree with the bundled model and
leave the rest of what it learned in place. The
calibration (temperature, bias, Platt scaling) and the thresholds are kept. Tasks the rows
do not label keep their bundled weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from models.datasets import Example
from models.heads import BinaryHead, Heads, MultiHead, _f16, friction_copies, row_weights


def _balanced(labels: Sequence[object]) -> np.ndarray:
    """Label-balanced weights summing to 1 (``row_weights`` of one source)."""
    return row_weights(["rows"] * len(labels), [str(y) for y in labels]) / len(labels)


def _minimise(fun: Callable[[np.ndarray], tuple[float, np.ndarray]], x0: np.ndarray
              ) -> np.ndarray:
    from scipy.optimize import minimize

    res = minimize(fun, x0, jac=True, method="L-BFGS-B", options={"maxiter": 300})
    return np.asarray(res.x)


def _adapt_multi(head: MultiHead, x: np.ndarray, labels: Sequence[str], strength: float
                 ) -> MultiHead:
    k, d = head.coef.shape
    y = np.zeros((len(labels), k))
    y[np.arange(len(labels)), [head.labels.index(lab) for lab in labels]] = 1.0
    w = _balanced(labels)[:, None]
    w0 = np.concatenate([head.coef.ravel(), head.bias]).astype(np.float64)
    cal = head.cal_bias if head.cal_bias is not None else np.zeros(k)

    def fun(p: np.ndarray) -> tuple[float, np.ndarray]:
        coef, bias = p[:k * d].reshape(k, d), p[k * d:]
        z = (x @ coef.T + bias) / head.temperature + cal
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        diff = p - w0
        loss = float(-(w * y * logp).sum() + 0.5 * strength * diff @ diff)
        g = w * (np.exp(logp) - y) / head.temperature
        grad = np.concatenate([(g.T @ x).ravel(), g.sum(axis=0)]) + strength * diff
        return loss, grad

    p = _minimise(fun, w0)
    return replace(head, coef=_f16(p[:k * d].reshape(k, d)), bias=p[k * d:])


def _adapt_binary(head: BinaryHead, x: np.ndarray, targets: np.ndarray, strength: float
                  ) -> BinaryHead:
    coef, bias = head.coef.copy(), head.bias.copy()
    d = coef.shape[1]
    for j in range(targets.shape[1]):
        y = targets[:, j].astype(np.float64)
        if not np.any(head.coef[j]):  # a column the bundled heads never learned
            continue
        w = _balanced(list(y))
        a, c = float(head.platt_a[j]), float(head.platt_b[j])
        w0 = np.concatenate([head.coef[j], [head.bias[j]]]).astype(np.float64)

        def fun(p: np.ndarray, y: np.ndarray = y, w: np.ndarray = w, a: float = a,
                c: float = c, w0: np.ndarray = w0) -> tuple[float, np.ndarray]:
            z = a * (x @ p[:d] + p[d]) + c
            q = np.clip(1.0 / (1.0 + np.exp(-z)), 1e-9, 1 - 1e-9)
            diff = p - w0
            loss = float(-(w * (y * np.log(q) + (1 - y) * np.log(1 - q))).sum()
                         + 0.5 * strength * diff @ diff)
            g = w * (q - y) * a
            grad = np.concatenate([g @ x, [g.sum()]]) + strength * diff
            return loss, grad

        p = _minimise(fun, w0)
        coef[j], bias[j] = _f16(p[:d]), p[d]
    return replace(head, coef=coef, bias=bias)


def adapt_heads(heads: Heads, emb: np.ndarray, rows: Sequence[Example], c: float,
                prior: float = 1.0) -> Heads:
    """``heads`` moved towards ``rows`` (embedded as ``emb``) under a prior centred on their
    own weights (strength ``prior / (c * len(rows))``); see the module docstring."""
    x_all = heads.inputs(emb, [e.text for e in rows])
    x_all = x_all.toarray() if sp.issparse(x_all) else np.asarray(x_all, dtype=np.float64)
    strength = prior / (c * max(1, len(rows)))
    out = replace(heads, meta=dict(heads.meta))
    for task in ("intent", "sentiment", "stage"):
        idx = [i for i, e in enumerate(rows) if getattr(e, task) is not None]
        labels = [str(getattr(rows[i], task)) for i in idx]
        if len(set(labels)) >= 2:
            setattr(out, task, _adapt_multi(getattr(heads, task), x_all[idx], labels, strength))
    copies, cats, _ = friction_copies(rows)
    if len(set(cats)) >= 2:
        out.friction = _adapt_multi(heads.friction, x_all[copies], cats, strength)
    idx = [i for i, e in enumerate(rows) if e.friction_present is not None]
    if len({rows[i].friction_present for i in idx}) == 2:
        targets = np.array([[bool(rows[i].friction_present)] for i in idx], dtype=bool)
        out.presence = _adapt_binary(heads.presence, x_all[idx], targets, strength)
    out._stacked = None
    out.meta["adapted_on"] = {"rows": len(rows), "strength": strength}
    return out
