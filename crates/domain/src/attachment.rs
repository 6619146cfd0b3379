//! What an uploaded attachment may be (F5: drawings, sample photos, recordings, documents):
//! its size, its name, and its type as read from its first bytes — never as the client claims.

use crate::fields::FieldErrors;

/// The largest attachment accepted.
pub const MAX_BYTES: usize = 20 * 1024 * 1024;

/// The types accepted: content type and the file-name extensions that may carry it.
const TYPES: &[(&str, &[&str])] = &[
    ("application/pdf", &["pdf"]),
    ("image/png", &["png"]),
    ("image/jpeg", &["jpg", "jpeg"]),
    ("image/gif", &["gif"]),
    ("image/webp", &["webp"]),
    ("audio/wav", &["wav"]),
    ("audio/mpeg", &["mp3"]),
    ("audio/mp4", &["m4a"]),
    ("video/mp4", &["mp4"]),
    ("video/quicktime", &["mov"]),
    ("image/vnd.dwg", &["dwg"]),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        &["docx"],
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &["xlsx"],
    ),
    ("application/zip", &["zip"]),
    (
        "text/plain; charset=utf-8",
        &["txt", "csv", "dxf", "step", "stp"],
    ),
];

/// The content type of `bytes` by its signature, given the name's extension (which picks among
/// the types that share a container: a ZIP may be DOCX, XLSX or a plain archive).
fn sniff(bytes: &[u8], ext: &str) -> Option<&'static str> {
    let starts = |sig: &[u8]| bytes.starts_with(sig);
    let riff = |kind: &[u8]| starts(b"RIFF") && bytes.get(8..12) == Some(kind);
    Some(if starts(b"%PDF-") {
        "application/pdf"
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if starts(b"\xFF\xD8\xFF") {
        "image/jpeg"
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        "image/gif"
    } else if riff(b"WEBP") {
        "image/webp"
    } else if riff(b"WAVE") {
        "audio/wav"
    } else if starts(b"ID3") || starts(b"\xFF\xFB") || starts(b"\xFF\xF3") {
        "audio/mpeg"
    } else if bytes.get(4..8) == Some(b"ftyp") {
        match ext {
            "m4a" => "audio/mp4",
            "mov" => "video/quicktime",
            _ => "video/mp4",
        }
    } else if starts(b"AC10") {
        "image/vnd.dwg"
    } else if starts(b"PK\x03\x04") {
        match ext {
            "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            _ => "application/zip",
        }
    } else if !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok() {
        "text/plain; charset=utf-8"
    } else {
        return None;
    })
}

/// The stored name: the last path segment, without control characters, at most 200 characters.
pub fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    base.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .chars()
        .take(200)
        .collect()
}

/// Checks an upload; `Ok` gives the content type to store and serve.
/// A complaint's evidence (F17: photos and video, and documents): `check`, and only an image,
/// a video or a document.
pub fn check_evidence(name: &str, bytes: &[u8]) -> Result<&'static str, FieldErrors> {
    let t = check(name, bytes)?;
    let document = matches!(
        t,
        "application/pdf"
            | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            | "text/plain; charset=utf-8"
    );
    if t.starts_with("image/") && t != "image/vnd.dwg" || t.starts_with("video/") || document {
        Ok(t)
    } else {
        let mut e = FieldErrors::default();
        e.add("file", "file_type");
        Err(e)
    }
}

pub fn check(name: &str, bytes: &[u8]) -> Result<&'static str, FieldErrors> {
    let mut e = FieldErrors::default();
    let name = clean_name(name);
    let ext = name
        .rsplit_once('.')
        .map(|(_, x)| x.to_ascii_lowercase())
        .unwrap_or_default();
    if name.is_empty() || name.starts_with('.') {
        e.add("file", "file_name");
    }
    if bytes.is_empty() {
        e.add("file", "file_empty");
    } else if bytes.len() > MAX_BYTES {
        e.add("file", "file_too_large");
    }
    e.finish()?;
    match sniff(bytes, &ext) {
        Some(t)
            if TYPES
                .iter()
                .any(|(ct, exts)| *ct == t && exts.contains(&ext.as_str())) =>
        {
            Ok(t)
        }
        _ => {
            let mut e = FieldErrors::default();
            e.add("file", "file_type");
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_comes_from_the_bytes_and_must_match_the_name() {
        assert_eq!(check("图纸.pdf", b"%PDF-1.7 ..."), Ok("application/pdf"));
        assert_eq!(check("样品.JPG", b"\xFF\xD8\xFF\xE0..."), Ok("image/jpeg"));
        assert_eq!(
            check("说明.txt", "温升≤80K".as_bytes()),
            Ok("text/plain; charset=utf-8")
        );
        let code = |r: Result<&str, FieldErrors>| r.unwrap_err().for_field("file");
        // An executable renamed to .pdf, HTML renamed to .png, a PDF named .exe.
        assert_eq!(code(check("a.pdf", b"MZ\x90\x00\x03")), Some("file_type"));
        assert_eq!(code(check("a.png", b"<html><script>")), Some("file_type"));
        assert_eq!(code(check("a.exe", b"%PDF-1.7")), Some("file_type"));
        assert_eq!(code(check("a.pdf", b"")), Some("file_empty"));
        assert_eq!(code(check("", b"%PDF-1.7")), Some("file_name"));
        let big = vec![b'a'; MAX_BYTES + 1];
        assert_eq!(code(check("a.txt", &big)), Some("file_too_large"));
    }

    #[test]
    fn a_name_keeps_only_its_last_segment() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\图纸\\总装图.dwg"), "总装图.dwg");
        assert_eq!(clean_name("a\u{0}b\n.pdf"), "ab.pdf");
    }
}
