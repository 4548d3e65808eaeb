"""`python -m roleplay_standin --host 127.0.0.1 --port 18080`: run the provider STAND-IN."""

from roleplay_standin.cli import main

if __name__ == "__main__":
    main()
