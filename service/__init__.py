"""The run service: runs trained by worker processes, owned by the server, watched by link.

    from service import get_service
    run = get_service().start(config, dataset, owner="me")
    ...  # run.history fills in as the worker trains; run.end says how it ended

Between the pages and the engine: it imports `trainer` (never Streamlit), and the workers run
`trainer.prepare` exactly as a script would.
"""

from service.runs import FAILED, Run
from service.service import RunService, close_service, get_service
from service.settings import Settings

__all__ = ["FAILED", "Run", "RunService", "Settings", "close_service", "get_service"]
