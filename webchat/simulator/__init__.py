"""A strict, scripted ServicePattern Mobile/Web Chat API v1 server for demo mode and tests."""

from .config import SimConfig
from .server import SimulatorServer
from .simulator import Simulator

__all__ = ["SimConfig", "Simulator", "SimulatorServer"]
