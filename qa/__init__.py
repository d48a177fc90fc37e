"""Answering layer: `from qa import Assistant`."""

from .assistant import ABSTAIN_TEXT, Assistant, StreamEvent
from .models import Answer, Citation, Turn

__all__ = ["ABSTAIN_TEXT", "Answer", "Assistant", "Citation", "StreamEvent", "Turn"]
