"""The ONNX frontend: file checks (:mod:`.check`), import (:mod:`.importer`) and the framework's own
float runtime (onnxruntime / qonnx, :mod:`.runtime`) that ``tinybnn check`` compares with."""
