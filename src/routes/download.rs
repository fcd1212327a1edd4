//! Evidence downloads, shared by staff and vendor pages.

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::error::AppError;
use crate::store::entities::evidence;

/// Builds a `Content-Disposition: attachment` value that keeps any Unicode file name: an ASCII
/// `filename` for old clients and an RFC 5987 `filename*` with the UTF-8 name.
pub fn content_disposition(file_name: &str) -> String {
    let fallback: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = url::form_urlencoded::byte_serialize(file_name.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// Streams a stored file as an attachment.
///
/// # Errors
/// [`AppError::Internal`] when the store cannot open the object.
pub async fn evidence_response(
    state: &AppState,
    file: &evidence::Model,
) -> Result<Response, AppError> {
    let stream = state
        .evidence()
        .open(&file.storage_key)
        .await
        .map_err(AppError::Internal)?;
    let disposition = HeaderValue::from_str(&content_disposition(&file.file_name))
        .map_err(|error| AppError::Internal(anyhow::Error::new(error)))?;
    let content_type = HeaderValue::from_str(&file.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CONTENT_LENGTH, HeaderValue::from(file.size_bytes)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Cleans an uploaded file's name: drops any folder path a browser sent with it and control
/// characters, and limits it to 255 characters. An empty result becomes "unnamed file".
pub fn clean_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    let cleaned = cleaned.trim().to_owned();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "unnamed file".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_keeps_unicode_name() {
        let value = content_disposition("Bericht für Prüfung \"2026\".pdf");
        assert_eq!(
            value,
            "attachment; filename=\"Bericht f_r Pr_fung _2026_.pdf\"; filename*=UTF-8''Bericht%20f%C3%BCr%20Pr%C3%BCfung%20%222026%22.pdf"
        );
    }

    #[test]
    fn clean_file_name_drops_paths_and_controls() {
        assert_eq!(
            clean_file_name("C:\\Users\\ann\\SOC 2 report.pdf"),
            "SOC 2 report.pdf"
        );
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("a\u{0}b\nc"), "abc");
        assert_eq!(clean_file_name(""), "unnamed file");
        assert_eq!(clean_file_name("報告書"), "報告書");
        assert_eq!(clean_file_name("README"), "README");
    }
}
