"""`python -m roleplay_library`: run the library service process."""

from roleplay_common.service import run_service
from roleplay_library.settings import LibrarySettings


def main() -> None:
    run_service("roleplay_library.app:create_app", LibrarySettings())


if __name__ == "__main__":
    main()
