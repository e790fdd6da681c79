"""mgat-repro: a reproduction of the Masked Graph Attention Network for person re-identification."""

__version__ = "0.3.0"
