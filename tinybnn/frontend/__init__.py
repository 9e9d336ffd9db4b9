"""Frontends: a trained model file -> the float :class:`tinybnn.ir.graph.Graph` the passes work on."""
