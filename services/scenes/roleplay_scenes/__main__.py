"""`python -m roleplay_scenes`: run the scenes service process."""

from roleplay_common.service import run_service
from roleplay_scenes.settings import ScenesSettings


def main() -> None:
    run_service("roleplay_scenes.app:create_app", ScenesSettings())


if __name__ == "__main__":
    main()
