"""OpenEMC."""
