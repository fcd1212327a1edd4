//! The evidence store: files vendors upload, kept in a local directory by default or in an
//! S3-compatible bucket. Uploads are streamed with bounded memory, hashed with SHA-256 on the
//! way, and written under a generated key; the original file name lives only in the database.

mod s3;

use std::path::{Path, PathBuf};

use anyhow::Context;
use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::config::{Config, EvidenceLocation};

/// The size and checksum of a stored object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredObject {
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PutError {
    /// The upload went past the size limit; nothing was kept.
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    /// The client's upload broke off; nothing was kept.
    #[error("the upload was interrupted: {0}")]
    Interrupted(String),
    /// The store failed or refused; nothing was kept.
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// A stream of an object's bytes, for downloads.
pub type ObjectStream = std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

#[derive(Clone, Debug)]
pub enum EvidenceStore {
    /// Files under a directory; keys become relative paths.
    Local { root: PathBuf },
    /// Objects in an S3-compatible bucket, under a key prefix.
    S3(s3::S3Store),
}

impl EvidenceStore {
    /// Opens the configured store. For S3, reads the standard `AWS_*` settings; it does not
    /// contact the server, so a store that is down is reported at the first upload.
    ///
    /// # Errors
    /// Fails when the directory cannot be created.
    pub async fn from_config(config: &Config) -> anyhow::Result<Self> {
        match config.evidence_location() {
            EvidenceLocation::Directory(root) => {
                std::fs::create_dir_all(root.join("tmp")).with_context(|| {
                    format!("Failed to create the evidence directory {}", root.display())
                })?;
                Ok(Self::Local { root })
            }
            EvidenceLocation::S3 { bucket, prefix } => {
                Ok(Self::S3(s3::S3Store::new(config, bucket, prefix).await))
            }
        }
    }

    /// Streams `body` into the store under `key`, counting and hashing as it goes. Stops as soon
    /// as the size passes `limit`. On any error nothing remains under `key`.
    ///
    /// # Errors
    /// [`PutError::TooLarge`], [`PutError::Interrupted`] or [`PutError::Store`].
    pub async fn put<S, E>(&self, key: &str, body: S, limit: u64) -> Result<StoredObject, PutError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        match self {
            Self::Local { root } => put_local(root, key, body, limit).await,
            Self::S3(store) => store.put(key, body, limit).await,
        }
    }

    /// Opens an object for download.
    ///
    /// # Errors
    /// Fails when the object is missing or unreadable.
    pub async fn open(&self, key: &str) -> anyhow::Result<ObjectStream> {
        match self {
            Self::Local { root } => {
                let path = local_path(root, key);
                let file = tokio::fs::File::open(&path)
                    .await
                    .with_context(|| format!("Failed to open evidence object {key}"))?;
                Ok(Box::pin(tokio_util::io::ReaderStream::with_capacity(
                    file,
                    64 * 1024,
                )))
            }
            Self::S3(store) => store.open(key).await,
        }
    }

    /// Deletes an object. Deleting a missing object succeeds.
    ///
    /// # Errors
    /// Fails when the store refuses.
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self {
            Self::Local { root } => match tokio::fs::remove_file(local_path(root, key)).await {
                Ok(()) => Ok(()),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(error) => Err(anyhow::Error::new(error)
                    .context(format!("Failed to delete evidence object {key}"))),
            },
            Self::S3(store) => store.delete(key).await,
        }
    }

    /// Lists the keys stored under `prefix`, for operators looking for orphaned objects and for
    /// tests.
    ///
    /// # Errors
    /// Fails when the store cannot be listed.
    pub async fn list_keys(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        match self {
            Self::Local { root } => {
                let mut keys = Vec::new();
                let mut pending = vec![root.clone()];
                while let Some(dir) = pending.pop() {
                    let Ok(mut entries) = tokio::fs::read_dir(&dir).await else {
                        continue;
                    };
                    while let Some(entry) = entries.next_entry().await? {
                        let path = entry.path();
                        if path == root.join("tmp") {
                            continue;
                        }
                        if entry.file_type().await?.is_dir() {
                            pending.push(path);
                        } else if let Ok(relative) = path.strip_prefix(root) {
                            let key = relative.to_string_lossy().replace('\\', "/");
                            if key.starts_with(prefix) {
                                keys.push(key);
                            }
                        }
                    }
                }
                keys.sort();
                Ok(keys)
            }
            Self::S3(store) => store.list_keys(prefix).await,
        }
    }
}

fn local_path(root: &Path, key: &str) -> PathBuf {
    // Keys are generated from UUIDs and slashes, never from user input.
    root.join(key)
}

async fn put_local<S, E>(
    root: &Path,
    key: &str,
    mut body: S,
    limit: u64,
) -> Result<StoredObject, PutError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let partial = root
        .join("tmp")
        .join(format!("{}.part", uuid::Uuid::new_v4()));
    let result = async {
        let file = tokio::fs::File::create(&partial)
            .await
            .with_context(|| format!("Failed to create {}", partial.display()))?;
        let mut writer = tokio::io::BufWriter::with_capacity(256 * 1024, file);
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|error| PutError::Interrupted(error.to_string()))?;
            size += chunk.len() as u64;
            if size > limit {
                return Err(PutError::TooLarge { limit });
            }
            hasher.update(&chunk);
            writer
                .write_all(&chunk)
                .await
                .context("Failed to write evidence to disk")?;
        }
        writer
            .flush()
            .await
            .context("Failed to write evidence to disk")?;
        writer
            .get_ref()
            .sync_all()
            .await
            .context("Failed to write evidence to disk")?;
        let target = local_path(root, key);
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .context("Failed to create the evidence folder")?;
        }
        tokio::fs::rename(&partial, &target)
            .await
            .context("Failed to move evidence into place")?;
        Ok(StoredObject {
            size,
            sha256: hex::encode(hasher.finalize()),
        })
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&partial).await;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(
        parts: &[&'static [u8]],
    ) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
        futures_util::stream::iter(
            parts
                .iter()
                .map(|part| Ok(Bytes::from_static(part)))
                .collect::<Vec<_>>(),
        )
    }

    #[tokio::test]
    async fn put_hashes_and_stores() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
        let store = EvidenceStore::Local {
            root: dir.path().to_owned(),
        };
        let stored = store
            .put("t/a/object", chunks(&[b"ab", b"c"]), 10)
            .await
            .unwrap();
        assert_eq!(stored.size, 3);
        assert_eq!(
            stored.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            std::fs::read(dir.path().join("t/a/object")).unwrap(),
            b"abc"
        );
    }

    #[tokio::test]
    async fn put_over_limit_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
        let store = EvidenceStore::Local {
            root: dir.path().to_owned(),
        };
        let error = store
            .put("t/a/big", chunks(&[b"12345", b"67890", b"x"]), 10)
            .await
            .unwrap_err();
        assert!(matches!(error, PutError::TooLarge { limit: 10 }));
        assert!(!dir.path().join("t/a/big").exists());
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0,
            "the partial file is removed"
        );
    }
}
