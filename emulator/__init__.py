"""Local stand-in for LINE's Messaging API, with a LINE-like chat page. See emulator.core.LineEmulator."""
from .core import LineEmulator
from .ids import new_user_id
from .limits import check_messages, check_rich_menu
from .webhooks import WebhookError, sign

__all__ = ["LineEmulator", "new_user_id", "check_messages", "check_rich_menu", "WebhookError", "sign"]
