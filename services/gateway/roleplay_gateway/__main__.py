"""`python -m roleplay_gateway`: run the gateway service process."""

from roleplay_common.service import run_service
from roleplay_gateway.settings import GatewaySettings


def main() -> None:
    run_service("roleplay_gateway.app:create_app", GatewaySettings())


if __name__ == "__main__":
    main()
