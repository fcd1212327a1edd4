//! The S3 backend of the evidence store, through aws-sdk-s3.
//!
//! Small files go up in one `PutObject`; larger ones as a multipart upload in 8 MiB parts, with
//! at most two parts in flight, so an upload holds at most three part buffers (24 MiB) whatever
//! the file size. The SDK only adds checksums where the S3 API requires them, because several
//! S3-compatible servers reject the newer default checksum headers; the portal computes its own
//! SHA-256 of every upload.

use std::time::Duration;

use anyhow::Context;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};
use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;

use super::{ObjectStream, PutError, StoredObject};
use crate::config::Config;

/// Size of each part of a multipart upload; S3 requires at least 5 MiB for all parts but the last.
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploaded at the same time.
const PARTS_IN_FLIGHT: usize = 2;

#[derive(Clone, Debug)]
pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
    encryption: Option<ServerSideEncryption>,
    kms_key_id: Option<String>,
}

fn describe(error: impl std::error::Error) -> String {
    DisplayErrorContext(error).to_string()
}

impl S3Store {
    /// Builds the client from the standard `AWS_*` variables, with path-style addressing and the
    /// endpoint and encryption settings of the configuration.
    pub async fn new(config: &Config, bucket: String, prefix: String) -> Self {
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let mut builder = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(true)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(120))
                    .build(),
            );
        if shared.region().is_none() {
            // S3-compatible servers accept any region; AWS itself needs AWS_REGION.
            builder = builder.region(Region::new("us-east-1"));
        }
        if let Some(endpoint) = &config.s3_endpoint {
            builder = builder.endpoint_url(endpoint.as_str().trim_end_matches('/'));
        }
        Self {
            client: Client::from_conf(builder.build()),
            bucket,
            prefix,
            encryption: config
                .s3_encryption
                .as_deref()
                .map(ServerSideEncryption::from),
            kms_key_id: config.s3_kms_key_id.clone(),
        }
    }

    fn full_key(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}/{key}", self.prefix)
        }
    }

    pub async fn put<S, E>(
        &self,
        key: &str,
        mut body: S,
        limit: u64,
    ) -> Result<StoredObject, PutError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let key = self.full_key(key);
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut buffer: Vec<u8> = Vec::with_capacity(PART_SIZE);
        let mut upload: Option<Multipart> = None;
        let result: Result<(), PutError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|error| PutError::Interrupted(error.to_string()))?;
                size += chunk.len() as u64;
                if size > limit {
                    return Err(PutError::TooLarge { limit });
                }
                hasher.update(&chunk);
                let mut rest: &[u8] = &chunk;
                while !rest.is_empty() {
                    let room = PART_SIZE - buffer.len();
                    let (now, later) = rest.split_at(room.min(rest.len()));
                    buffer.extend_from_slice(now);
                    rest = later;
                    if buffer.len() == PART_SIZE {
                        let part = std::mem::replace(&mut buffer, Vec::with_capacity(PART_SIZE));
                        if upload.is_none() {
                            upload = Some(self.start_multipart(&key).await?);
                        }
                        upload
                            .as_mut()
                            .expect("started above")
                            .send_part(part)
                            .await?;
                    }
                }
            }
            Ok(())
        }
        .await;

        let finished = match (result, upload) {
            (Err(error), Some(upload)) => {
                upload.abort().await;
                Err(error)
            }
            (Err(error), None) => Err(error),
            (Ok(()), None) => self.put_single(&key, buffer).await,
            (Ok(()), Some(mut upload)) => {
                let sent = async {
                    if !buffer.is_empty() {
                        upload.send_part(buffer).await?;
                    }
                    upload.complete().await
                }
                .await;
                match sent {
                    Ok(()) => Ok(()),
                    Err(error) => {
                        upload.abort().await;
                        Err(error)
                    }
                }
            }
        };
        finished.map(|()| StoredObject {
            size,
            sha256: hex::encode(hasher.finalize()),
        })
    }

    async fn put_single(&self, key: &str, bytes: Vec<u8>) -> Result<(), PutError> {
        let length = bytes.len() as i64;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(length)
            .body(ByteStream::from(bytes))
            .set_server_side_encryption(self.encryption.clone())
            .set_ssekms_key_id(self.kms_key_id.clone())
            .send()
            .await
            .map_err(|error| {
                PutError::Store(anyhow::anyhow!("S3 PutObject failed: {}", describe(error)))
            })?;
        Ok(())
    }

    async fn start_multipart(&self, key: &str) -> Result<Multipart, PutError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .set_server_side_encryption(self.encryption.clone())
            .set_ssekms_key_id(self.kms_key_id.clone())
            .send()
            .await
            .map_err(|error| {
                PutError::Store(anyhow::anyhow!(
                    "S3 CreateMultipartUpload failed: {}",
                    describe(error)
                ))
            })?;
        let upload_id = created.upload_id().map(str::to_owned).ok_or_else(|| {
            PutError::Store(anyhow::anyhow!(
                "S3 CreateMultipartUpload returned no upload id"
            ))
        })?;
        Ok(Multipart {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            upload_id,
            next_part: 1,
            in_flight: JoinSet::new(),
            done: Vec::new(),
        })
    }

    pub async fn open(&self, key: &str) -> anyhow::Result<ObjectStream> {
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
            .map_err(|error| {
                anyhow::anyhow!("S3 GetObject failed for {key}: {}", describe(error))
            })?;
        let reader = object.body.into_async_read();
        Ok(Box::pin(tokio_util::io::ReaderStream::with_capacity(
            reader,
            64 * 1024,
        )))
    }

    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
            .map_err(|error| {
                anyhow::anyhow!("S3 DeleteObject failed for {key}: {}", describe(error))
            })?;
        Ok(())
    }

    pub async fn list_keys(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.full_key(prefix))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page
                .map_err(|error| anyhow::anyhow!("S3 ListObjectsV2 failed: {}", describe(error)))?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    let relative = if self.prefix.is_empty() {
                        key
                    } else {
                        key.strip_prefix(&format!("{}/", self.prefix))
                            .unwrap_or(key)
                    };
                    keys.push(relative.to_owned());
                }
            }
        }
        keys.sort();
        Ok(keys)
    }

    /// Creates the bucket if it does not exist, for tests and first set-up.
    ///
    /// # Errors
    /// Fails when the server refuses.
    pub async fn ensure_bucket(&self) -> anyhow::Result<()> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        self.client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|error| {
                anyhow::anyhow!(
                    "S3 CreateBucket failed for {}: {}",
                    self.bucket,
                    describe(error)
                )
            })
            .context("Failed to create the evidence bucket")?;
        Ok(())
    }
}

/// A multipart upload in progress.
struct Multipart {
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    next_part: i32,
    in_flight: JoinSet<Result<CompletedPart, PutError>>,
    done: Vec<CompletedPart>,
}

impl Multipart {
    /// Starts uploading one part, first waiting for a slot when [`PARTS_IN_FLIGHT`] are running.
    async fn send_part(&mut self, bytes: Vec<u8>) -> Result<(), PutError> {
        while self.in_flight.len() >= PARTS_IN_FLIGHT {
            self.collect_one().await?;
        }
        let number = self.next_part;
        self.next_part += 1;
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(number)
            .content_length(bytes.len() as i64)
            .body(ByteStream::from(bytes));
        self.in_flight.spawn(async move {
            let uploaded = request.send().await.map_err(|error| {
                PutError::Store(anyhow::anyhow!(
                    "S3 UploadPart {number} failed: {}",
                    describe(error)
                ))
            })?;
            Ok(CompletedPart::builder()
                .set_e_tag(uploaded.e_tag().map(str::to_owned))
                .part_number(number)
                .build())
        });
        Ok(())
    }

    async fn collect_one(&mut self) -> Result<(), PutError> {
        if let Some(joined) = self.in_flight.join_next().await {
            let part = joined.map_err(|error| {
                PutError::Store(anyhow::anyhow!("an S3 part upload task failed: {error}"))
            })??;
            self.done.push(part);
        }
        Ok(())
    }

    async fn complete(&mut self) -> Result<(), PutError> {
        while !self.in_flight.is_empty() {
            self.collect_one().await?;
        }
        let mut parts = std::mem::take(&mut self.done);
        parts.sort_by_key(|part| part.part_number());
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|error| {
                PutError::Store(anyhow::anyhow!(
                    "S3 CompleteMultipartUpload failed: {}",
                    describe(error)
                ))
            })?;
        Ok(())
    }

    /// Cancels the upload so the server drops its parts. Failures are logged: the parts then stay
    /// until the bucket's lifecycle rule for incomplete uploads removes them.
    async fn abort(mut self) {
        self.in_flight.abort_all();
        let result = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .send()
            .await;
        if let Err(error) = result {
            tracing::error!(error = %describe(error), "failed to abort an S3 multipart upload");
        }
    }
}
