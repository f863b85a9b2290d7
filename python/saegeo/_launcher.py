"""The `saegeo` console command: execs the CLI binary bundled in the wheel (saegeo/bin/saegeo, the
Swift runtime linked in), so that `saegeo ...` behaves exactly as the release binary."""
import os
import sys


def binary_path():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "saegeo")


def main():
    path = binary_path()
    if not os.access(path, os.X_OK):
        sys.stderr.write(f"saegeo: the bundled command is missing at {path}; reinstall the wheel\n")
        return 1
    os.execv(path, ["saegeo", *sys.argv[1:]])
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())
