from . import _2024_12  # xgrad's copy keeps only the 2024.12 stubs (see PROVENANCE.md)
