"""Things the suite needs that pip cannot install (run by `make test` before pytest).

Steps add themselves here (e.g. the browser for the admin tests); each prints at most one line.
"""


def browser_for_admin_tests() -> None:
    """Debian's chromium (driven by Playwright) and a Japanese font for the screenshots; never fails the run."""
    import os
    import shutil
    import subprocess

    if shutil.which("chromium") and os.path.exists("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"):
        return
    if os.geteuid() != 0:
        print("setup_env: chromium is missing and we are not root; the browser tests will skip")
        return
    try:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env, "timeout": 900}
        subprocess.run(["apt-get", "update"], check=True, **quiet)
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium", "fonts-ipaexfont-gothic"],
                       check=True, **quiet)
        print("setup_env: installed chromium and fonts-ipaexfont-gothic for the browser tests")
    except Exception as e:  # noqa: BLE001 - the browser tests skip with a message instead
        print(f"setup_env: could not install chromium ({e}); the browser tests will skip")


def main() -> None:
    browser_for_admin_tests()


if __name__ == "__main__":
    main()
