#!/usr/bin/env python3
# SPDX-License-Identifier: CC0-1.0
"""Build camsync's Rust static library with cargo for meson (like
gst-plugins-rs' cargo_wrapper.py): run cargo, copy libcamsync.a to meson's
output, and turn cargo's dep-info into a ninja depfile so that editing a Rust
source rebuilds and a no-op build does nothing."""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--cargo', required=True)
    p.add_argument('--manifest-path', required=True)
    p.add_argument('--target-dir', required=True)
    p.add_argument('--profile', default='dev', help='cargo profile (dev, release, profiling)')
    p.add_argument('--output', required=True)
    p.add_argument('--depfile', required=True)
    a = p.parse_args()

    # CARGO_TARGET_DIR, if set, wins (share one cargo target between builds).
    a.target_dir = os.environ.get('CARGO_TARGET_DIR') or a.target_dir
    env = dict(os.environ)
    # meson compiles and links the C++ adapter itself: build.rs must not.
    env['CAMSYNC_NO_ADAPTER'] = '1'
    # The layer alone: no tools, none of their dependencies (feature `cli`).
    cmd = [a.cargo, 'build', '--lib', '--locked', '--no-default-features',
           '--manifest-path', a.manifest_path, '--target-dir', a.target_dir]
    cmd += ['--profile', a.profile]
    r = subprocess.run(cmd, env=env)
    if r.returncode != 0:
        return r.returncode

    # cargo's output directory of a profile: dev's is debug.
    profile_dir = Path(a.target_dir) / ('debug' if a.profile == 'dev' else a.profile)
    lib = profile_dir / 'libcamsync.a'
    out = Path(a.output)
    # Copy only when changed, so the link step is not redone needlessly.
    if not out.exists() or out.read_bytes() != lib.read_bytes():
        shutil.copyfile(lib, out)

    # cargo's dep-info: "<outputs...>: <inputs...>", with '\ ' for spaces.
    deps = ''
    d = profile_dir / 'libcamsync.d'
    if d.exists():
        text = d.read_text()
        sep = text.find(': ')
        deps = text[sep + 2:].strip() if sep >= 0 else ''
    Path(a.depfile).write_text(f'{out}: {deps}\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
