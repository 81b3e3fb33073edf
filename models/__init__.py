"""All models; importing this package registers every table and deletion hook."""
from models.base import Base
from models import users, webhook, conversation, outbox  # noqa: F401
from models import plan  # noqa: F401
from models import accounts  # noqa: F401
from models import subscriptions  # noqa: F401
from models import publications  # noqa: F401
from models import scheduling  # noqa: F401
from models import media, staff_link, follow_log  # noqa: F401
from models import announcements  # noqa: F401
from models import places, events, registrations  # noqa: F401
from models import volunteer  # noqa: F401
from models import surveys  # noqa: F401
from models import faq  # noqa: F401

__all__ = ["Base"]
