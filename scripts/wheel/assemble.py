"""Assembles the saegeo wheel by hand with zipfile (no build backend, no network): the pure-Python
package, the SaegeoCore shared library, the CLI binary, and a .dist-info with METADATA, WHEEL,
entry_points.txt and RECORD (sha256 of every file, as PEP 376/427 ask).

    python3 assemble.py VERSION PACKAGE_DIR LIBRARY BINARY README OUT_DIR   -> prints the wheel path
"""
import base64
import hashlib
import os
import platform
import sys
import zipfile


def record_hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def main(version, package_dir, library, binary, readme, out_dir):
    tag = f"py3-none-linux_{platform.machine()}"
    dist_info = f"saegeo-{version}.dist-info"
    with open(readme, encoding="utf-8") as handle:
        description = handle.read()
    metadata = (
        "Metadata-Version: 2.1\n"
        f"Name: saegeo\nVersion: {version}\n"
        "Summary: How close a fine-tuning dataset sits to toxic features in an SAE's feature geometry\n"
        "Requires-Python: >=3.8\n"
        "Requires-Dist: numpy\n"
        "Description-Content-Type: text/markdown\n\n" + description)
    wheel = f"Wheel-Version: 1.0\nGenerator: saegeo scripts/wheel/assemble.py\nRoot-Is-Purelib: false\nTag: {tag}\n"
    entry_points = "[console_scripts]\nsaegeo = saegeo._launcher:main\n"

    files = []  # (path in the wheel, bytes, executable)
    for name in sorted(os.listdir(package_dir)):
        if name.endswith(".py"):
            with open(os.path.join(package_dir, name), "rb") as handle:
                files.append((f"saegeo/{name}", handle.read(), False))
    with open(library, "rb") as handle:
        files.append(("saegeo/_lib/libsaegeo.so", handle.read(), True))
    with open(binary, "rb") as handle:
        files.append(("saegeo/bin/saegeo", handle.read(), True))
    files.append((f"{dist_info}/METADATA", metadata.encode(), False))
    files.append((f"{dist_info}/WHEEL", wheel.encode(), False))
    files.append((f"{dist_info}/entry_points.txt", entry_points.encode(), False))
    files.append((f"{dist_info}/top_level.txt", b"saegeo\n", False))
    record = "".join(f"{path},{record_hash(data)},{len(data)}\n" for path, data, _ in files)
    record += f"{dist_info}/RECORD,,\n"
    files.append((f"{dist_info}/RECORD", record.encode(), False))

    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"saegeo-{version}-{tag}.whl")
    partial = path + ".partial"
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data, executable in files:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            archive.writestr(info, data)
    os.replace(partial, path)
    print(path)


if __name__ == "__main__":
    main(*sys.argv[1:])
