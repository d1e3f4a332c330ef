//! Writing CSV for downloads (RFC 4180, CRLF line ends) that spreadsheets open as text: a
//! cell that a spreadsheet would run as a formula — one starting with `=`, `+`, `-`, `@`, a
//! tab or a carriage return — is written with a leading apostrophe, as OWASP advises, so an
//! incident titled `=HYPERLINK(…)` stays a title.

/// One field, made inert and quoted when it must be.
pub fn field(text: &str) -> String {
    let inert = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if inert.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", inert.replace('"', "\"\""))
    } else {
        inert
    }
}

/// One line: the fields, separated by commas, ended by CRLF.
pub fn line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut line = fields
        .iter()
        .map(|f| field(f.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_when_needed() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a, b"), "\"a, b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(line(&["a", "b c"]), "a,b c\r\n");
    }

    #[test]
    fn formula_cells_are_made_inert() {
        assert_eq!(field("=1+1"), "'=1+1");
        assert_eq!(field("+41 79"), "'+41 79");
        assert_eq!(field("-2"), "'-2");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field("\tx"), "'\tx");
        assert_eq!(field("\r=x"), "\"'\r=x\"");
        assert_eq!(
            field("=HYPERLINK(\"http://evil\", \"x\")"),
            "\"'=HYPERLINK(\"\"http://evil\"\", \"\"x\"\")\""
        );
        assert_eq!(field("a=b"), "a=b");
    }
}
