"""tinybnn: binary neural networks on microcontrollers, bit-exact from ONNX to the device."""

from ._version import __version__
from .errors import TinyBnnError
from .model import LayerOutput, Model, load

__all__ = ["load", "Model", "LayerOutput", "TinyBnnError", "__version__"]
