"""`python -m roleplay_usage`: run the usage service process."""

from roleplay_common.service import run_service
from roleplay_usage.settings import UsageSettings


def main() -> None:
    run_service("roleplay_usage.app:create_app", UsageSettings())


if __name__ == "__main__":
    main()
