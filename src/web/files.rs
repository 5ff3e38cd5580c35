//! Reading the files a web config names (the config itself, certificates,
//! keys, CAs): bounded in size, relative paths anchored at the config's
//! directory as the toolkit does, and each path remembered so that the
//! reloader can notice a renewed certificate behind an unchanged YAML file.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::web::error::{invalid, WebConfigError};

/// Larger web config, certificate, key or CA files are refused: none of
/// them is legitimately this big, and an unbounded read of a wrong path
/// (`/dev/zero`) would exhaust memory.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads at most `MAX_FILE_BYTES` of `path`.
pub(super) fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    let f = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    f.take(MAX_FILE_BYTES + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {MAX_FILE_BYTES} bytes"),
        ));
    }
    Ok(buf)
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Reads the file `p` that key `field` names, and records its path in `files`.
pub(super) fn read_file(
    field: &'static str,
    base: &Path,
    p: &str,
    files: &mut Vec<PathBuf>,
) -> Result<Vec<u8>, WebConfigError> {
    let path = resolve(base, p);
    let bytes = read_bounded(&path)
        .map_err(|e| invalid(field, format!("cannot read {}: {e}", path.display())))?;
    files.push(path);
    Ok(bytes)
}
