"""``einsum(subscripts, *operands)``: Einstein summation as torch.einsum writes it (ellipses, implicit output),
with gradients by einsum itself.

The gradient of operand i is the einsum of the upstream gradient with the other operands (conjugated when
complex, as PyTorch), onto operand i's letters. Two cases need more than that: a letter only operand i has
(summed away in the forward) gets the gradient broadcast along it, and a letter operand i repeats (a
diagonal, ``"ii->i"``) gets the gradient on that diagonal and zeros elsewhere.
"""

from ..backends.einsum import parse
from ..errors import ShapeError
from ._core import Op
from .elementwise import dtype_info


def _complex(a):
    return dtype_info(a.dtype)[2] == "c"


class _Einsum(Op):
    """One op for any number of operands: its backward gives every operand's gradient at once."""

    __slots__ = ()
    custom = True

    def __init__(self):
        super().__init__("einsum", lambda xp, subscripts, *operands: xp.einsum(subscripts, *operands))
        self.vjps = ()

    def rules(self, xp, g, out, args, kw, needs):
        subscripts, operands = args[0], args[1:]
        ins, out_letters = parse(subscripts, [a.ndim for a in operands])
        grads = [None]
        for i in range(len(operands)):
            grads.append(_operand_grad(xp, g, ins, out_letters, operands, i) if needs[i + 1] else None)
        return grads


def _operand_grad(xp, g, ins, out_letters, operands, i):
    target = ins[i]
    uniq = list(dict.fromkeys(target))
    others = [j for j in range(len(operands)) if j != i]
    available = set(out_letters).union(*(ins[j] for j in others))
    present = [c for c in uniq if c in available]
    equation = ",".join("".join(s) for s in [out_letters] + [ins[j] for j in others]) + "->" + "".join(present)
    factors = [xp.conj(operands[j]) if _complex(operands[j]) else operands[j] for j in others]
    grad = xp.einsum(equation, g, *factors)
    a = operands[i]
    sizes = {c: a.shape[target.index(c)] for c in uniq}
    # letters only this operand has: the gradient is the same all along them
    if len(present) < len(uniq):
        for k, c in enumerate(uniq):
            if c not in available:
                grad = xp.expand_dims(grad, axis=k)
        grad = xp.broadcast_to(grad, tuple(sizes[c] if c not in available else grad.shape[k]
                                           for k, c in enumerate(uniq)))
    # repeated letters: place the gradient on the diagonal (a length-1 axis per repeat, then a 0/1 mask)
    if len(uniq) < len(target):
        shape = [sizes[c] if target.index(c) == p else 1 for p, c in enumerate(target)]
        grad = xp.reshape(grad, tuple(shape))
        grad = grad * _diagonal_mask(xp, a, target)
    if _complex(grad) and not _complex(a):
        grad = xp.real(grad)
    return grad


def _diagonal_mask(xp, a, target):
    """1 where every repeated letter of ``target`` takes equal values on its axes, else 0 (shaped like a)."""
    mask = None
    for p, c in enumerate(target):
        q = target.index(c)
        if q == p:
            continue
        # ones with axes q, p last, tril(triu()) keeps their diagonal, then back in place
        rest = [k for k in range(a.ndim) if k not in (q, p)]
        perm = rest + [q, p]
        m = xp.tril(xp.triu(xp.permute_dims(xp.ones_like(a), tuple(perm))))
        inverse = [perm.index(k) for k in range(a.ndim)]
        m = xp.permute_dims(m, tuple(inverse))
        mask = m if mask is None else mask * m
    return mask


_einsum = _Einsum()


def einsum(subscripts, /, *operands):
    """Einstein summation over ``operands`` as ``subscripts`` says (``"ij,jk->ik"``, ``"...ij->...ji"``,
    ``"ii"``, implicit output as in torch.einsum). Gradients for every operand, complex ones as PyTorch."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(subscripts, str):
        raise ShapeError("xgrad.einsum: the first argument is the subscripts string, e.g. 'ij,jk->ik'")
    try:
        parse(subscripts, [getattr(a, "ndim", 0) for a in operands])
    except ValueError as e:
        shapes = ", ".join(str(tuple(getattr(a, "shape", ()))) for a in operands)
        raise ShapeError(f"xgrad.{e} (operand shapes {shapes})") from None
    return _einsum(subscripts, *operands)
