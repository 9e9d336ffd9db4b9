"""tinybnn: binary neural networks on microcontrollers, bit-exact from ONNX to the device."""

from .errors import TinyBnnError
from .model import LayerOutput, Model, load

__version__ = "0.1.0"
__all__ = ["load", "Model", "LayerOutput", "TinyBnnError", "__version__"]
