//! Output files, safely: a report never replaces what is not a regular file (a FIFO, a device
//! node, a symbolic link: hasim does not follow symlinks, it refuses them), every output path is
//! checked writable before a run starts, and temporary files are removed on error (they are
//! `tempfile`s, deleted when dropped) and on SIGINT or SIGTERM (a signal thread removes the
//! ones registered here, then exits). A sweep's checkpoint folder (`<out>.units/`) is kept on
//! purpose: `--resume` continues from it.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Temporary files alive now, removed if a signal ends the process.
static TEMPORARIES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A temporary file registered for removal on SIGINT/SIGTERM while this value lives.
pub struct Registered(PathBuf);

impl Registered {
    /// Registers `path`.
    pub fn new(path: &Path) -> Registered {
        if let Ok(mut t) = TEMPORARIES.lock() {
            t.push(path.to_path_buf());
        }
        Registered(path.to_path_buf())
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut t) = TEMPORARIES.lock()
            && let Some(i) = t.iter().rposition(|p| *p == self.0)
        {
            t.swap_remove(i);
        }
    }
}

/// Starts the thread that, on SIGINT or SIGTERM, removes every registered temporary file and
/// exits with 128 + the signal's number, as the shell reports a process the signal killed.
/// `signal-hook` does the async-signal-safe part (a self-pipe) so that the cleanup runs on an
/// ordinary thread.
pub fn remove_temporaries_on_signals() -> io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("hasim-signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                // Holding the lock until exit: no new temporary is registered meanwhile.
                let live = TEMPORARIES.lock();
                if let Ok(live) = &live {
                    for p in live.iter() {
                        let _ = std::fs::remove_file(p);
                    }
                }
                std::process::exit(128 + sig);
            }
        })?;
    Ok(())
}

/// What a path that exists is, in words, when it is not a regular file.
fn special_kind(m: &std::fs::Metadata) -> Option<&'static str> {
    let t = m.file_type();
    if t.is_file() {
        return None;
    }
    if t.is_symlink() {
        return Some("a symbolic link");
    }
    if t.is_dir() {
        return Some("a folder");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if t.is_char_device() || t.is_block_device() {
            return Some("a device");
        }
        if t.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

/// Refuses `path` if something other than a regular file is there (a symlink is not followed:
/// replacing it would replace the link, not its target, which surprises either way).
pub fn refuse_special(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) => match special_kind(&m) {
            None => Ok(()),
            Some(kind) => Err(io::Error::other(format!(
                "it is {kind}: hasim replaces only regular files and does not follow symlinks; write to another path"
            ))),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The folder a file at `path` goes into.
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Checks, before any work, that a file can be written at `path`: nothing special is there,
/// and a temporary file can be created beside it (then removed).
pub fn check_file(path: &Path) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", path.display());
    refuse_special(path).map_err(|e| fail(&e))?;
    let dir = parent_of(path);
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(fail(&format!("{} is not a folder", dir.display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(fail(&format!(
                "its folder {} does not exist",
                dir.display()
            )));
        }
        Err(e) => return Err(fail(&e)),
    }
    tempfile::NamedTempFile::new_in(dir).map_err(|e| {
        fail(&format!(
            "cannot create a file in {}: {}",
            dir.display(),
            e.kind()
        ))
    })?;
    Ok(())
}

/// Checks, before any work, that files can be written in folder `dir`, which is created later
/// if missing: its nearest existing ancestor must be a writable folder.
pub fn check_dir(dir: &Path) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| format!("cannot write in {}: {e}", dir.display());
    let mut at = dir;
    loop {
        match std::fs::metadata(at) {
            Ok(m) if m.is_dir() => break,
            Ok(_) => return Err(fail(&format!("{} is not a folder", at.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => match at.parent() {
                Some(p) if !p.as_os_str().is_empty() => at = p,
                _ => {
                    at = Path::new(".");
                    break;
                }
            },
            Err(e) => return Err(fail(&e)),
        }
    }
    tempfile::NamedTempFile::new_in(at).map_err(|e| {
        fail(&format!(
            "cannot create a file in {}: {}",
            at.display(),
            e.kind()
        ))
    })?;
    Ok(())
}
