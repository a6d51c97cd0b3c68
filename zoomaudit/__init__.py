"""zoomaudit: audit and phased rollout of Zoom users provisioned from Microsoft Entra ID.

Data flows one way: ``sources`` (Graph, Zoom) -> ``snapshot`` -> ``frames`` -> analysis
(``reconcile``, ``licences``, ``readiness``, ``rollout``) -> notebooks and ``report``.
"""

from zoomaudit.config import Settings
from zoomaudit.errors import ZoomAuditError

__version__ = "0.1.0"

__all__ = ["__version__", "Settings", "ZoomAuditError"]
