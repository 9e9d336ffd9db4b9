"""The Larq Compute Engine frontend: ``.tflite`` files (TFLite FlatBuffers with LCE's custom ops) read with the
``tflite`` schema package and lowered into the canonical float graph the ONNX frontend's passes produce."""

from .importer import import_tflite, is_tflite

__all__ = ["import_tflite", "is_tflite"]
