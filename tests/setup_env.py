"""Things the suite needs that pip cannot install (run by `make test` before pytest).

Steps add themselves here (e.g. the browser for the admin tests); each prints at most one line.
"""


def main() -> None:
    pass


if __name__ == "__main__":
    main()
