"""Microsoft Teams front end: a Bot Framework bot at POST /api/messages, Adaptive Cards,
proactive notices and the Teams app package.

Every Bot Framework import of the project lives in this package, so moving to the Microsoft
365 Agents SDK is a change to this folder alone (see the README). The front end is in
`app.py`; it is re-exported here for the composition root.
"""

from adapters.teams.app import TeamsFrontEnd
from adapters.teams.auth import Credentials
from adapters.teams.files import file_hosts

__all__ = ["Credentials", "TeamsFrontEnd", "file_hosts"]
