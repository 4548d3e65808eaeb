"""`python -m roleplay_chat`: run the chat service process."""

from roleplay_chat.settings import ChatSettings
from roleplay_common.service import run_service


def main() -> None:
    run_service("roleplay_chat.app:create_app", ChatSettings())


if __name__ == "__main__":
    main()
