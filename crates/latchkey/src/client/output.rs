//! Readable output: aligned columns for people; `--json` prints the
//! server's JSON instead.

use serde_json::Value;

pub fn json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("JSON prints")
    );
}

/// Columns padded to their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// One object as `field: value` lines.
pub fn record(value: &Value, fields: &[&str]) {
    let width = fields.iter().map(|f| f.len()).max().unwrap_or(0);
    for field in fields {
        println!("{field:<width$}  {}", text(value, field));
    }
}

/// A string, number or boolean field, a list joined by spaces, or `-`.
pub fn text(value: &Value, field: &str) -> String {
    match &value[field] {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        _ => "-".to_owned(),
    }
}

/// Text from a server, made safe for a terminal line: control characters
/// (newlines, escapes) become `?`, and it stops at 2,048 characters (as
/// long as a URL we print may be).
pub fn printable(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(2048)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().nth(2048).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn server_text_cannot_break_lines_or_drive_the_terminal() {
        assert_eq!(super::printable("a\nb\u{1b}[2J"), "a?b?[2J");
        assert_eq!(super::printable(&"x".repeat(3000)).chars().count(), 2049);
    }
}
