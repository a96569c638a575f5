"""``xgrad.fft``: the array-API standard's FFT extension, differentiable (PyTorch's gradients: the conjugate
Wirtinger derivative for complex inputs, its real part for real ones)."""

from .ops.fft import (fft, fftfreq, fftn, fftshift, hfft, ifft, ifftn, ifftshift, ihfft, irfft, irfftn, rfft,
                      rfftfreq, rfftn)

__all__ = ["fft", "ifft", "fftn", "ifftn", "rfft", "irfft", "rfftn", "irfftn", "hfft", "ihfft", "fftfreq",
           "rfftfreq", "fftshift", "ifftshift"]
