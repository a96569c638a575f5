"""The error function written once against the array-API standard, for libraries that lack one.

The standard has no ``erf``. The torch backend uses torch's own; the others (NumPy, array-api-strict,
CuPy) use :func:`erf` below: fdlibm's ``s_erf.c`` algorithm (rational
approximations on |x| < 0.84375, < 1.25, < 1/0.35, < 6, and +-1 beyond), computed in float64 and
rounded to the input's dtype. fdlibm bounds its error by one ulp; ``tests/test_nn_layers.py`` checks
it against ``math.erf`` and ``torch.erf`` over float64's whole range (including subnormals, +-inf, nan).

The coefficients are fdlibm's:
    Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
    Developed at SunPro, a Sun Microsystems, Inc. business.
    Permission to use, copy, modify, and distribute this software is freely granted, provided that this
    notice is preserved.
"""

_ERX = 8.45062911510467529297e-01  # erf(1) rounded to 24 bits
# erf(x) = x + x R(x^2) on |x| < 0.84375
_PP = (1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
       -5.77027029648944159157e-03, -2.37630166566501626084e-05)
_QQ = (1.0, 3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03,
       1.32494738004321644526e-04, -3.96022827877536812320e-06)
# erf(1 + s) = erx + P(s)/Q(s) on 0.84375 <= |x| < 1.25
_PA = (-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
       3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
       -2.16637559486879084300e-03)
_QA = (1.0, 1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02,
       1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02)
# erfc(x) = exp(-x^2 - 0.5625 + R(1/x^2)/S(1/x^2)) / x on 1.25 <= |x| < 1/0.35 ...
_RA = (-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01,
       -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02,
       -8.12874355063065934246e+01, -9.81432934416914548592e+00)
_SA = (1.0, 1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02,
       6.45387271733267880336e+02, 4.29008140027567833386e+02, 1.08635005541779435134e+02,
       6.57024977031928170135e+00, -6.04244152148580987438e-02)
# ... and on 1/0.35 <= |x| < 6
_RB = (-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01,
       -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03,
       -4.83519191608651397019e+02)
_SB = (1.0, 3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03,
       3.19985821950859553908e+03, 2.55305040643316442583e+03, 4.74528541206955367215e+02,
       -2.24409524465858183362e+01)

_SPLIT = 134217729.0  # 2^27 + 1: Veltkamp's split of a float64 into 26-bit halves


def _poly(z, coefficients):
    """coefficients[0] + z (coefficients[1] + z (...)), Horner's rule as fdlibm writes it."""
    acc = coefficients[-1]
    for c in reversed(coefficients[:-1]):
        acc = c + z * acc
    return acc


def erf(xp, x):
    """``erf(x)`` elementwise, with ``xp`` a standard namespace; float dtypes only (the result has x's)."""
    dtype = x.dtype
    a = xp.astype(x, xp.float64) if dtype != xp.float64 else x
    ax = xp.abs(a)
    # every branch is evaluated on values clipped into its own interval (no overflow, no 0/0); where
    # then picks the branch each element belongs to
    small = xp.where(ax < 0.84375, a, 0.0)
    z = small * small
    erf_small = small + small * (_poly(z, _PP) / _poly(z, _QQ))
    s = xp.clip(ax, 0.84375, 1.25) - 1.0
    erf_mid = _ERX + _poly(s, _PA) / _poly(s, _QA)
    t = xp.clip(ax, 1.25, 6.0)
    w = 1.0 / (t * t)
    ratio = xp.where(t < 1 / 0.35, _poly(w, _RA) / _poly(w, _SA), _poly(w, _RB) / _poly(w, _SB))
    # exp(-t^2) as exp(-h^2) exp((h - t)(h + t)) with h the top 26 bits of t (h^2 is exact): fdlibm's
    # trick (it clears the low word) against the rounding error of t^2
    c = t * _SPLIT
    h = c - (c - t)
    erfc_large = xp.exp(-h * h - 0.5625) * xp.exp((h - t) * (h + t) + ratio) / t
    erf_large = xp.where(ax < 6.0, 1.0 - erfc_large, 1.0)
    magnitude = xp.where(ax < 1.25, erf_mid, erf_large)
    signed = xp.where(a < 0, -magnitude, magnitude)
    out = xp.where(ax < 0.84375, erf_small, signed)
    out = xp.where(xp.isnan(a), a, out)
    return xp.astype(out, dtype) if dtype != xp.float64 else out
