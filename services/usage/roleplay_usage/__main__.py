"""`python -m roleplay_usage`: run the usage service process; with arguments, the usage CLI
(`python -m roleplay_usage backfill --from … --to …`)."""

import sys

from roleplay_common.service import run_service
from roleplay_usage.settings import UsageSettings


def main() -> None:
    if len(sys.argv) > 1:
        from roleplay_usage.cli import app

        app()
        return
    run_service("roleplay_usage.app:create_app", UsageSettings())


if __name__ == "__main__":
    main()
