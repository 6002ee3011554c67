"""The local WeCom: the same HTTP API and callback protocol over its own state, plus a simulation API.

Public entry points: ``create_emulator_app`` (FastAPI app), ``seed_corp`` (deterministic population),
``Simulator`` (simulated user/staff/admin actions), ``PopulationSimulator`` (background activity),
``CallbackCrypto`` (WXBizMsgCrypt). Imports nothing from ``siyu.integrations`` or siyu's domains.
"""

from siyu.emulator.wecom.app import close_emulator, create_emulator_app, get_emulator, get_simulator
from siyu.emulator.wecom.crypto import CallbackCrypto
from siyu.emulator.wecom.population import PopulationSimulator
from siyu.emulator.wecom.seed import seed_corp
from siyu.emulator.wecom.simulation import Simulator
from siyu.emulator.wecom.state import EmulatorState

__all__ = ["CallbackCrypto", "EmulatorState", "PopulationSimulator", "Simulator", "close_emulator",
           "create_emulator_app", "get_emulator", "get_simulator", "seed_corp"]
