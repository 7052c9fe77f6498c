"""``python -m factorspace``: the command line. Imported as a module (a recipe's ``imports:``
naming it), it runs nothing."""

from factorspace.cli import main

if __name__ == "__main__":
    main()
