// SPDX-License-Identifier: LGPL-2.1-or-later
//! The meson build, both ways, against the test stand-in for libcamera
//! (`tests/adapter/mock`): standalone (`dependency('libcamera')` through a
//! generated libcamera.pc) and as `subdir('camsync/meson')` of a skeleton
//! libcamera project's `src/layer/` that provides `libcamera_public`,
//! `libcamera_private` and `layer_install_dir` as libcamera's tree does. Each
//! build must produce `sync.so` exporting the layer ABI, install it into the
//! layer directory, and the stand-in host must run it; inside the tree the
//! layer logs through libcamera's (stand-in) logger. A tree that also builds
//! libcamera's C++ sync layer gets a warning; editing Cargo.toml or
//! Cargo.lock rebuilds the Rust library. Without a layer-enabled libcamera,
//! `meson setup` must refuse and say how to point at one. Skipped (saying so
//! in `cargo test`'s output) when meson or ninja is not installed (`.ci/run`
//! installs both).

mod common;

use std::path::Path;
use std::process::Command;

use common::{
    MOCK, MOCK_LAYER_H, have, mock_libcamera as mock, port, root, run, skip, target_root as target,
};

fn build_install_and_run(src: &Path, build: &Path, prefix: &Path, env: &[(&str, String)]) {
    let _ = std::fs::remove_dir_all(build);
    let _ = std::fs::remove_dir_all(prefix);
    let with_env = |c: &mut Command| {
        for (k, v) in env {
            c.env(k, v);
        }
        // One cargo target for every nested build (incremental).
        c.env("CARGO_TARGET_DIR", target().join("adapter-cargo"));
    };
    let mut setup = Command::new("meson");
    setup
        .arg("setup")
        .arg(build)
        .arg(src)
        .arg("--buildtype=debug")
        .arg(format!("--prefix={}", prefix.display()))
        .arg("--libdir=lib");
    with_env(&mut setup);
    run(&mut setup);
    let mut ninja = Command::new("ninja");
    ninja.arg("-C").arg(build);
    with_env(&mut ninja);
    run(&mut ninja);
    let again = run(Command::new("ninja")
        .arg("-C")
        .arg(build)
        .env("CARGO_TARGET_DIR", target().join("adapter-cargo")));
    assert!(again.contains("no work to do"), "a no-op rebuild: {again}");
    let mut install = Command::new("meson");
    install.arg("install").arg("-C").arg(build);
    with_env(&mut install);
    run(&mut install);
    let so = prefix.join("lib/libcamera/layer/sync.so");
    assert!(so.is_file(), "installed into the layer directory");
    let nm = run(Command::new("nm").args(["-D", "--defined-only"]).arg(&so));
    for line in nm.lines() {
        let name = line.split_whitespace().last().unwrap_or("");
        assert!(
            name == "layerInfo" || name == "layerInterface" || name.starts_with("camsync_"),
            "unexpected export {line}"
        );
    }
    assert!(
        nm.contains(" D layerInfo") && nm.contains(" D layerInterface"),
        "{nm}"
    );
}

/// Run the stand-in host on `so`; the line logging the client's sync.
fn run_host(dir: &Path, so: &Path, port: u16) -> String {
    let out = run(Command::new(dir.join("host"))
        .arg(so)
        .env("LIBCAMERA_SYNC_INTERFACE", "127.0.0.1")
        .env("LIBCAMERA_SYNC_PORT", port.to_string())
        .env("LIBCAMERA_SYNC_SYNC_PERIOD", "8")
        // The host's script checks the reference's arithmetic frame for frame.
        .env("LIBCAMERA_SYNC_PROFILE", "compat")
        .env_remove("LIBCAMERA_LOG_FILE")
        .env_remove("LIBCAMERA_LOG_LEVELS"));
    assert!(out.contains("PASS"), "{out}");
    out.lines()
        .find(|l| l.contains("Sync achieved (client)"))
        .unwrap_or_else(|| panic!("no sync achieved line: {out}"))
        .to_string()
}

#[test]
fn meson_standalone_and_inside_a_libcamera_tree() {
    if !have("meson") || !have("ninja") {
        return skip(
            "meson_build",
            "meson and ninja are not installed (apt-get install meson ninja-build)",
        );
    }
    let work = target().join("meson-test");
    let mockdir = work.join("mock");
    std::fs::create_dir_all(&mockdir).unwrap();
    mock(&mockdir);

    // Standalone, with libcamera found by pkg-config. sync.so goes to
    // <libcamera's libdir>/libcamera/layer, like libcamera's LAYER_DIR.
    let prefix = work.join("standalone-prefix");
    let pc = work.join("pkgconfig");
    std::fs::create_dir_all(&pc).unwrap();
    std::fs::write(
        pc.join("libcamera.pc"),
        format!(
            "libdir={}\nName: libcamera\nDescription: camsync test stand-in\nVersion: 0.7.1\n\
             Cflags: -I{} -I{}\nLibs: -L{} -lmockcamera\n",
            prefix.join("lib").display(),
            root().join(MOCK_LAYER_H).display(),
            root().join(MOCK).display(),
            mockdir.display()
        ),
    )
    .unwrap();
    build_install_and_run(
        root(),
        &work.join("standalone-build"),
        &prefix,
        &[
            ("PKG_CONFIG_PATH", pc.display().to_string()),
            ("LIBCAMERA_SYNC_INTERFACE", "127.0.0.1".into()),
            ("LIBCAMERA_SYNC_PORT", port(0).to_string()),
            // The host's script checks the reference's arithmetic.
            ("LIBCAMERA_SYNC_PROFILE", "compat".into()),
        ],
    );
    // Standalone: libcamera's public headers only, the layer writes its own lines.
    let line = run_host(
        &mockdir,
        &prefix.join("lib/libcamera/layer/sync.so"),
        port(1),
    );
    assert!(!line.contains("layer.cpp:"), "{line}");

    // Inside a (skeleton) libcamera tree: src/layer/camsync -> this repository.
    let tree = work.join("libcamera");
    let _ = std::fs::remove_dir_all(&tree);
    std::fs::create_dir_all(tree.join("src/layer")).unwrap();
    std::os::unix::fs::symlink(root(), tree.join("src/layer/camsync")).unwrap();
    std::fs::write(
        tree.join("meson.build"),
        format!(
            "project('libcamera', 'c', 'cpp', meson_version : '>= 1.0.1',\n\
             \x20   default_options : ['cpp_std=c++17'])\n\
             libcamera_libdir = get_option('libdir') / 'libcamera'\n\
             libcamera_public = declare_dependency(\n\
             \x20   link_args : ['-L{mockdir}', '-lmockcamera'],\n\
             \x20   include_directories : include_directories('{layer_h}', '{mock}'))\n\
             libcamera_private = declare_dependency(dependencies : libcamera_public,\n\
             \x20   compile_args : ['-DLIBCAMERA_BASE_PRIVATE'])\n\
             subdir('src/layer')\n",
            mock = root().join(MOCK).display(),
            layer_h = root().join(MOCK_LAYER_H).display(),
            mockdir = mockdir.display(),
        ),
    )
    .unwrap();
    std::fs::write(
        tree.join("src/layer/meson.build"),
        "layer_install_dir = libcamera_libdir / 'layer'\n\
         subdir('camsync/meson')\n",
    )
    .unwrap();
    let prefix = work.join("tree-prefix");
    let build = work.join("tree-build");
    build_install_and_run(&tree, &build, &prefix, &[]);
    // In the tree: the line is the (stand-in) libcamera logger's, logged
    // from the adapter's forwarding call, naming the camera.
    let line = run_host(
        &mockdir,
        &prefix.join("lib/libcamera/layer/sync.so"),
        port(2),
    );
    assert!(
        line.contains(" INFO SyncLayer layer.cpp:") && line.contains("client-cam: Sync achieved"),
        "{line}"
    );
    // Editing the manifest or the lock file rebuilds the Rust library.
    let ninja = std::fs::read_to_string(build.join("build.ninja")).unwrap();
    let rust_edge = ninja
        .lines()
        .find(|l| l.starts_with("build ") && l.contains("libcamsync.a"))
        .expect("the cargo step in build.ninja");
    for f in ["Cargo.toml", "Cargo.lock"] {
        assert!(
            rust_edge.contains(f),
            "{f} is not a dependency: {rust_edge}"
        );
    }
}

#[test]
fn a_tree_that_also_builds_the_cpp_sync_layer_gets_a_warning() {
    if !have("meson") {
        return skip(
            "meson_build",
            "meson is not installed (apt-get install meson)",
        );
    }
    let work = target().join("meson-cpp-sync");
    for (case, before) in [("before", true), ("after", false)] {
        // A skeleton tree carrying libcamera's C++ sync layer: src/layer/sync
        // (a stand-in that installs a sync.so too) and camsync.
        let tree = work.join(case);
        let _ = std::fs::remove_dir_all(&tree);
        std::fs::create_dir_all(tree.join("src/layer/sync")).unwrap();
        std::os::unix::fs::symlink(root(), tree.join("src/layer/camsync")).unwrap();
        std::fs::write(
            tree.join("meson.build"),
            "project('libcamera', 'c', 'cpp', meson_version : '>= 1.0.1')\n\
             libcamera_libdir = get_option('libdir') / 'libcamera'\n\
             libcamera_public = declare_dependency()\n\
             subdir('src/layer')\n",
        )
        .unwrap();
        std::fs::write(tree.join("src/layer/sync/sync.cpp"), "int sync_layer;\n").unwrap();
        std::fs::write(
            tree.join("src/layer/sync/meson.build"),
            "layer_name = 'sync'\n\
             shared_module(layer_name, 'sync.cpp', name_prefix : '', install : true,\n\
             \x20   install_dir : layer_install_dir)\n",
        )
        .unwrap();
        let (first, second) = if before {
            ("subdir('sync')", "subdir('camsync/meson')")
        } else {
            ("subdir('camsync/meson')", "subdir('sync')")
        };
        std::fs::write(
            tree.join("src/layer/meson.build"),
            format!("layer_install_dir = libcamera_libdir / 'layer'\n{first}\n{second}\n"),
        )
        .unwrap();
        let build = work.join(format!("{case}-build"));
        let _ = std::fs::remove_dir_all(&build);
        let out = run(Command::new("meson").arg("setup").arg(&build).arg(&tree));
        assert!(
            out.contains("WARNING: camsync: this tree also builds libcamera's C++ sync layer")
                && out.contains("Remove subdir('sync')"),
            "{case}: {out}"
        );
    }
}

/// `meson setup` of `src` into a fresh `build`, which must fail: its output.
fn setup_fails(src: &Path, build: &Path, env: &[(&str, &Path)]) -> String {
    let _ = std::fs::remove_dir_all(build);
    let mut setup = Command::new("meson");
    setup.arg("setup").arg(build).arg(src);
    for (k, v) in env {
        setup.env(k, v);
    }
    let o = setup.output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "meson setup succeeded:\n{out}");
    out
}

#[test]
fn meson_refuses_a_libcamera_without_layers_and_says_how_to_point_at_one() {
    if !have("meson") || !have("ninja") {
        return skip(
            "meson_build",
            "meson and ninja are not installed (apt-get install meson ninja-build)",
        );
    }
    let work = target().join("meson-refuse");
    let empty = work.join("no-pkgconfig");
    std::fs::create_dir_all(&empty).unwrap();
    // No libcamera at all (PKG_CONFIG_LIBDIR hides the system's).
    let out = setup_fails(
        root(),
        &work.join("none"),
        &[("PKG_CONFIG_PATH", &empty), ("PKG_CONFIG_LIBDIR", &empty)],
    );
    assert!(
        out.contains("pkg-config finds no libcamera") && out.contains("PKG_CONFIG_PATH="),
        "{out}"
    );
    // A libcamera without <libcamera/layer.h> (the stand-in's headers alone).
    let pc = work.join("pkgconfig");
    std::fs::create_dir_all(&pc).unwrap();
    std::fs::write(
        pc.join("libcamera.pc"),
        format!(
            "Name: libcamera\nDescription: no layers\nVersion: 0.7.1\nCflags: -I{}\nLibs:\n",
            root().join(MOCK).display()
        ),
    )
    .unwrap();
    let out = setup_fails(
        root(),
        &work.join("no-layer-h"),
        &[("PKG_CONFIG_PATH", &pc), ("PKG_CONFIG_LIBDIR", &empty)],
    );
    assert!(
        out.contains("(version 0.7.1) has no <libcamera/layer.h>")
            && out.contains("PKG_CONFIG_PATH="),
        "{out}"
    );
    // Inside a libcamera tree without layer support (no layer_install_dir).
    let tree = work.join("libcamera");
    let _ = std::fs::remove_dir_all(&tree);
    std::fs::create_dir_all(tree.join("src/layer")).unwrap();
    std::os::unix::fs::symlink(root(), tree.join("src/layer/camsync")).unwrap();
    std::fs::write(
        tree.join("meson.build"),
        "project('libcamera', 'c', 'cpp')\nlibcamera_public = declare_dependency()\n\
         subdir('src/layer')\n",
    )
    .unwrap();
    std::fs::write(
        tree.join("src/layer/meson.build"),
        "subdir('camsync/meson')\n",
    )
    .unwrap();
    let out = setup_fails(&tree, &work.join("tree"), &[]);
    assert!(
        out.contains("this libcamera tree has no layer support"),
        "{out}"
    );
}
