"""Test helpers: tiny fake datasets in the official layouts
(:mod:`s2d_mm.testing.fake_data`)."""
