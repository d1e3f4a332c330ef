//! Vigil's build tasks.
//!
//! `cargo xtask build-web [--dev] [--max-gzip-kb N]` compiles the frontend to WebAssembly,
//! splits it into a main module and chunks that pages download on demand (the
//! wasm_split_cli_support library), generates the main module's JavaScript bindings with the
//! wasm-bindgen library (no separate tool to install), installs from the npm registry what the
//! UI loads (plotly.js, bundled by esbuild with only the traces the UI draws) and what shrinks
//! it (binaryen's wasm-opt), pinned by `frontend/package-lock.json`, and writes
//! `frontend/dist/`: `index.html` plus content-hashed files under `assets/`, which the server caches for good.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

const TARGET: &str = "wasm32-unknown-unknown";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("build-web") => build_web(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask build-web [--dev] [--max-gzip-kb N]\n\n\
                 build-web   build the web frontend into frontend/dist/\n  \
                 --dev          unoptimised build (faster to compile, much larger)\n  \
                 --max-gzip-kb  fail if the gzipped main WebAssembly module exceeds N KB"
            );
            bail!("unknown or missing task")
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_owned()
}

fn build_web(args: &[String]) -> anyhow::Result<()> {
    let dev = args.iter().any(|a| a == "--dev");
    let max_gzip_kb: Option<usize> = args
        .iter()
        .position(|a| a == "--max-gzip-kb")
        .map(|i| {
            args.get(i + 1)
                .context("--max-gzip-kb needs a number")?
                .parse()
                .context("--max-gzip-kb needs a number")
        })
        .transpose()?;
    let root = workspace_root();
    let frontend = root.join("frontend");
    let dist = frontend.join("dist");
    let assets = dist.join("assets");

    ensure_wasm_target()?;
    ensure_npm_packages(&frontend)?;
    let target_dir =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let plotly = bundle_plotly(&frontend, &target_dir)?;

    let profile = if dev { "dev" } else { "wasm-release" };
    println!("==> compiling the frontend to WebAssembly ({profile} profile)");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    // `cargo rustc` hands the extra flag to the final link only, so the dependencies keep the
    // flags of .cargo/config.toml (and their cache). The splitter needs the relocations.
    let status = Command::new(cargo)
        .current_dir(&root)
        .args([
            "rustc",
            "--package",
            "vigil-web",
            "--bin",
            "vigil-web",
            "--target",
            TARGET,
            "--profile",
            profile,
            "--",
            "-C",
            "link-arg=--emit-relocs",
        ])
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("compiling the frontend failed");
    }
    let profile_dir = if dev { "debug" } else { profile };
    let wasm = target_dir
        .join(TARGET)
        .join(profile_dir)
        .join("vigil-web.wasm");
    let staging = target_dir.join("web-staging");
    if staging.exists() {
        fs::remove_dir_all(&staging)?;
    }

    println!("==> splitting the WebAssembly into the main module and the pages' chunks");
    let split = split_wasm(&wasm, &staging)?;

    println!("==> generating JavaScript bindings");
    let bindings = staging.join("bindings");
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(staging.join("main.wasm"))
        .web(true)?
        .typescript(false)
        // The chunks link to the main module through exports wasm-bindgen would otherwise
        // drop (the function table).
        .keep_lld_exports(true)
        .out_name("vigil-web")
        .generate(&bindings)
        .context("wasm-bindgen failed")?;
    let main_wasm = bindings.join("vigil-web_bg.wasm");

    if !dev {
        println!(
            "==> optimising the WebAssembly with wasm-opt -Oz ({} modules, about a minute)",
            split.chunks.len() + 1
        );
        for module in split.chunks.iter().chain([&main_wasm]) {
            shrink_wasm(&frontend, module)?;
        }
    }

    println!("==> writing {}", dist.display());
    if dist.exists() {
        fs::remove_dir_all(&dist)?;
    }
    fs::create_dir_all(&assets)?;
    // wasm-bindgen's inline JavaScript, imported by relative path from the glue.
    if bindings.join("snippets").exists() {
        copy_dir(&bindings.join("snippets"), &assets.join("snippets"))?;
    }
    let mut wasm_names = Vec::new();
    let mut loader = fs::read_to_string(&split.loader).context("cannot read the chunk loader")?;
    for chunk in &split.chunks {
        let stem = chunk
            .file_stem()
            .and_then(|s| s.to_str())
            .context("a chunk without a name")?;
        let name = hashed_copy(chunk, &assets, stem, "wasm")?;
        // The loader fetches each chunk relative to itself, so from /assets/ too.
        loader = replace_once(
            &loader,
            &format!("\"./{stem}.wasm\""),
            &format!("\"./{name}\""),
        )?;
        wasm_names.push(name);
    }
    let main_name = hashed_copy(&main_wasm, &assets, "vigil-web", "wasm")?;
    // The glue imports the loader and the loader imports the glue, so neither name can hash
    // the other's final text: both take one hash of both texts, which changes with either.
    let glue = fs::read_to_string(bindings.join("vigil-web.js"))?;
    let bundle_hash = short_hash(format!("{glue}\0{loader}").as_bytes());
    let glue_name = format!("vigil-web-{bundle_hash}.js");
    let loader_name = format!("split-loader-{bundle_hash}.js");
    let glue = replace_all(
        &glue,
        &format!("from \"{SPLIT_LOADER}\""),
        &format!("from \"./{loader_name}\""),
    )?;
    let loader = replace_all(
        &loader,
        &format!("from \"{SPLIT_GLUE}\""),
        &format!("from \"./{glue_name}\""),
    )?;
    fs::write(assets.join(&glue_name), glue)?;
    fs::write(assets.join(&loader_name), loader)?;
    let boot = format!(
        "// Generated by `cargo xtask build-web`.\nimport init from './{glue_name}';\ninit({{ module_or_path: '/assets/{main_name}' }});\n"
    );
    let boot_name = hashed_write(boot.as_bytes(), &assets, "boot", "js")?;
    let style_name = hashed_copy(&frontend.join("static/style.css"), &assets, "style", "css")?;
    // Served by Vigil itself, never from a CDN; pages load it when they first draw a chart.
    let plotly_name = hashed_copy(&plotly, &assets, "plotly", "js")?;
    let icon_name = hashed_copy(
        &frontend.join("static/favicon.svg"),
        &assets,
        "favicon",
        "svg",
    )?;

    let template = fs::read_to_string(frontend.join("index.html"))
        .context("cannot read frontend/index.html")?;
    let html = template
        .replace("{{style}}", &format!("/assets/{style_name}"))
        .replace("{{boot}}", &format!("/assets/{boot_name}"))
        .replace("{{favicon}}", &format!("/assets/{icon_name}"))
        .replace("{{plotly}}", &format!("/assets/{plotly_name}"));
    fs::write(dist.join("index.html"), html)?;
    // The server sends these gzipped as they are instead of compressing megabytes per request;
    // the app's own files are worth zopfli's slower, tighter (still plain gzip) compression,
    // except in a dev build, which should be quick.
    println!(
        "==> compressing the assets{}",
        if dev {
            ""
        } else {
            " (zopfli for the app's own files)"
        }
    );
    for name in wasm_names
        .iter()
        .chain([&main_name, &glue_name, &loader_name])
    {
        write_gzipped(&assets.join(name), !dev)?;
    }
    write_gzipped(&assets.join(&plotly_name), false)?;

    // The budget is what browsers download: the .gz files the server sends.
    let gzipped = |name: &String| -> anyhow::Result<usize> {
        Ok(fs::metadata(assets.join(format!("{name}.gz")))?.len() as usize)
    };
    let main_raw = fs::metadata(assets.join(&main_name))?.len() as usize;
    let main_gzipped = gzipped(&main_name)?;
    let mut total_gzipped = main_gzipped;
    for name in &wasm_names {
        total_gzipped += gzipped(name)?;
    }
    println!(
        "==> frontend built: main WebAssembly module {} KB, {} KB gzipped (what every visit \
         downloads); all {} modules {} KB gzipped",
        main_raw / 1024,
        main_gzipped / 1024,
        wasm_names.len() + 1,
        total_gzipped / 1024
    );
    if let Some(max) = max_gzip_kb
        && main_gzipped > max * 1024
    {
        bail!(
            "the gzipped main WebAssembly module is {} KB, over the {max} KB budget",
            main_gzipped / 1024
        );
    }
    Ok(())
}

/// What the main module imports the chunk loader as, rewritten to its hashed name.
const SPLIT_LOADER: &str = "./split-loader.js";
/// What the chunk loader imports wasm-bindgen's glue as, rewritten to its hashed name.
const SPLIT_GLUE: &str = "./vigil-web.js";

struct SplitOutput {
    /// The chunk modules, beside `main.wasm` (which still needs wasm-bindgen).
    chunks: Vec<PathBuf>,
    /// The JavaScript that fetches and instantiates chunks.
    loader: PathBuf,
}

/// Splits the linked WebAssembly at the frontend's `#[wasm_split]` functions
/// (`frontend/src/chunks.rs`) into `staging/main.wasm`, the chunks and their loader.
fn split_wasm(wasm: &Path, staging: &Path) -> anyhow::Result<SplitOutput> {
    let input = fs::read(wasm).with_context(|| format!("cannot read {}", wasm.display()))?;
    let main = staging.join("main.wasm");
    let mut options = wasm_split_cli_support::Options::new(&input);
    options.output_dir = staging;
    options.main_out_path = &main;
    options.link_name = SPLIT_LOADER;
    options.main_module = SPLIT_GLUE;
    let split = wasm_split_cli_support::transform(options)
        .map_err(|error| anyhow::anyhow!("{error:?}"))
        .context("splitting the WebAssembly failed")?;
    let mut chunks = split.split_modules;
    chunks.sort();
    Ok(SplitOutput {
        chunks,
        loader: staging.join(SPLIT_LOADER),
    })
}

/// `text` with its one occurrence of `from` replaced; an error if there is not exactly one.
fn replace_once(text: &str, from: &str, to: &str) -> anyhow::Result<String> {
    match text.matches(from).count() {
        1 => Ok(text.replacen(from, to, 1)),
        n => bail!("expected {from} once in generated JavaScript, found it {n} times"),
    }
}

/// `text` with every occurrence of `from` replaced; an error if there is none.
fn replace_all(text: &str, from: &str, to: &str) -> anyhow::Result<String> {
    if !text.contains(from) {
        bail!("expected {from} in generated JavaScript");
    }
    Ok(text.replace(from, to))
}

fn ensure_wasm_target() -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match installed {
        Ok(output)
            if String::from_utf8_lossy(&output.stdout)
                .lines()
                .any(|l| l.trim() == TARGET) =>
        {
            Ok(())
        }
        Ok(_) => {
            println!("==> installing the {TARGET} target");
            let status = Command::new("rustup")
                .args(["target", "add", TARGET])
                .status()?;
            if !status.success() {
                bail!("`rustup target add {TARGET}` failed");
            }
            Ok(())
        }
        // Without rustup the toolchain is managed some other way; let cargo report a missing target.
        Err(_) => Ok(()),
    }
}

/// Runs Binaryen's `wasm-opt -Oz` over the WebAssembly (the npm package `binaryen`, pinned in
/// `frontend/package-lock.json`, so no prebuilt download and the same version everywhere). It
/// halves each module.
fn shrink_wasm(frontend: &Path, wasm: &Path) -> anyhow::Result<()> {
    let optimised = wasm.with_extension("opt.wasm");
    let output = Command::new("node")
        .arg(frontend.join("node_modules/binaryen/bin/wasm-opt"))
        .arg("-Oz")
        // The features rustc's wasm32 target emits.
        .args([
            "--enable-bulk-memory",
            "--enable-mutable-globals",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-reference-types",
            "--enable-multivalue",
        ])
        .arg(wasm)
        .arg("-o")
        .arg(&optimised)
        .output()
        .context("cannot run node for wasm-opt")?;
    // Binaryen does not know the name subsections the splitter writes (it drops the names
    // anyway) and says so for every module; everything else it says is shown.
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| !line.starts_with("warning: unknown name subsection"))
        .for_each(|line| eprintln!("{line}"));
    if !output.status.success() {
        bail!("wasm-opt failed on {}", wasm.display());
    }
    let bytes = fs::read(&optimised)?;
    wasmparser::validate(&bytes).context("wasm-opt wrote invalid WebAssembly")?;
    fs::rename(&optimised, wasm)?;
    Ok(())
}

/// Installs the frontend's npm packages when they are missing or differ from the lock file.
/// Their install scripts are not run: none of what the build uses needs one.
fn ensure_npm_packages(frontend: &Path) -> anyhow::Result<()> {
    let esbuild = frontend.join(ESBUILD);
    let lock = frontend.join("package-lock.json");
    // npm writes its own copy of the lock file into node_modules after every install.
    let installed = frontend.join("node_modules/.package-lock.json");
    let up_to_date = match (fs::metadata(&lock), fs::metadata(&installed)) {
        (Ok(lock), Ok(installed)) => {
            esbuild.exists() && lock.modified()? <= installed.modified()?
        }
        _ => false,
    };
    if !up_to_date {
        println!("==> installing the frontend's npm packages (plotly.js, esbuild, binaryen)");
        let status = Command::new("npm")
            .current_dir(frontend)
            .args([
                "ci",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--loglevel=error",
            ])
            .status()
            .context("cannot run npm (install Node.js and npm: apt-get install nodejs npm)")?;
        if !status.success() {
            bail!("`npm ci` in frontend/ failed");
        }
    }
    if !esbuild.exists() {
        bail!("{} is missing after npm ci", esbuild.display());
    }
    Ok(())
}

/// esbuild's WebAssembly build, run by node: the same bundler without a native binary.
const ESBUILD: &str = "node_modules/esbuild-wasm/bin/esbuild";

/// Bundles plotly.js with only the trace types the UI draws (`frontend/plotly-traces.js`)
/// into `target/web-plotly/plotly.min.js`, unless that is newer than its inputs; returns it.
fn bundle_plotly(frontend: &Path, target_dir: &Path) -> anyhow::Result<PathBuf> {
    let entry = frontend.join("plotly-traces.js");
    let out = target_dir.join("web-plotly/plotly.min.js");
    let newest_input = [&entry, &frontend.join("node_modules/.package-lock.json")]
        .iter()
        .map(|path| fs::metadata(path).and_then(|m| m.modified()))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .max();
    if let (Ok(built), Some(newest)) = (fs::metadata(&out).and_then(|m| m.modified()), newest_input)
        && built > newest
    {
        return Ok(out);
    }
    println!("==> bundling plotly.js with the traces the UI draws (esbuild)");
    let status = Command::new("node")
        .current_dir(frontend)
        .arg(ESBUILD)
        .arg("plotly-traces.js")
        .args([
            "--bundle",
            "--minify",
            "--format=iife",
            "--target=es2020",
            "--log-level=warning",
            // As plotly.js's own build: its sources were written for browserify.
            "--define:global=window",
            "--define:define.amd=false",
        ])
        .arg(format!("--outfile={}", out.display()))
        .status()
        .context("cannot run node (install Node.js: apt-get install nodejs)")?;
    if !status.success() {
        bail!("bundling plotly.js failed");
    }
    Ok(out)
}

fn short_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)[..5]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn hashed_write(bytes: &[u8], dir: &Path, stem: &str, extension: &str) -> anyhow::Result<String> {
    let name = format!("{stem}-{}.{extension}", short_hash(bytes));
    fs::write(dir.join(&name), bytes)?;
    Ok(name)
}

fn hashed_copy(source: &Path, dir: &Path, stem: &str, extension: &str) -> anyhow::Result<String> {
    let bytes = fs::read(source).with_context(|| format!("cannot read {}", source.display()))?;
    hashed_write(&bytes, dir, stem, extension)
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

fn gzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

/// Gzip by zopfli: a few percent smaller than zlib's best, readable by every gzip decoder.
fn zopfli_gzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    zopfli::compress(
        zopfli::Options::default(),
        zopfli::Format::Gzip,
        bytes,
        &mut out,
    )?;
    Ok(out)
}

/// Writes `<file>.gz` beside `file` (with zopfli when `tight`).
fn write_gzipped(file: &Path, tight: bool) -> anyhow::Result<()> {
    let mut name = file.as_os_str().to_owned();
    name.push(".gz");
    let bytes = fs::read(file)?;
    let packed = if tight {
        zopfli_gzip(&bytes)?
    } else {
        gzip(&bytes)?
    };
    fs::write(name, packed)?;
    Ok(())
}
