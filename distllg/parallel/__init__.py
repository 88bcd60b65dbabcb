"""The parallel layer: process grid, tiles and halo exchange. It moves arrays and never
imports physics."""
