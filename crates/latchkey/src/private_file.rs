//! Files that hold a secret: created new, mode 0600 from their first
//! instant, never through a link.

use std::io::Write;
use std::path::Path;

/// A new file, mode 0600 from its first instant. `create_new` (O_EXCL)
/// refuses an existing file, which would keep its own mode, and a symlink,
/// which could point anywhere.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    writeln!(file, "{contents}")
}

#[cfg(test)]
mod tests {
    use super::write_private;

    #[test]
    fn the_token_file_is_created_new_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        write_private(&path, "s3cret").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "s3cret\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // An existing file is never truncated or rewritten.
        let err = write_private(&path, "other").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "s3cret\n");
        // Nor is a link followed, dangling or not.
        #[cfg(unix)]
        {
            let target = dir.path().join("target");
            std::fs::write(&target, "precious").unwrap();
            for (link, to) in [
                ("link", target.clone()),
                ("dangling", dir.path().join("nowhere")),
            ] {
                let link = dir.path().join(link);
                std::os::unix::fs::symlink(&to, &link).unwrap();
                assert!(write_private(&link, "x").is_err());
            }
            assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
            assert!(!dir.path().join("nowhere").exists());
        }
    }
}
