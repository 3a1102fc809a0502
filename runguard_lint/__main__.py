"""`python -m runguard_lint` runs the command line."""

from runguard_lint.cli import main

if __name__ == "__main__":
    main()
