//! A line diff of two texts (two versions' pretty-printed JSON models): the longest common
//! subsequence of their lines, with the lines only one side has marked. Its table grows with
//! the product of the two lengths, so both are bounded.

/// Most lines compared on each side (a dashboard of a few hundred panels).
pub const MAX_LINES: usize = 5_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Same,
    Removed,
    Added,
}

/// The lines of `old` and `new` in order, each as kept, removed or added; `None` when either
/// has more than [`MAX_LINES`] lines.
pub fn line_diff<'a>(old: &'a str, new: &'a str) -> Option<Vec<(Change, &'a str)>> {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    if old.len() > MAX_LINES || new.len() > MAX_LINES {
        return None;
    }
    // Lines the two share at the start and the end need no table.
    let head = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let tail = old[head..]
        .iter()
        .rev()
        .zip(new[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (a, b) = (&old[head..old.len() - tail], &new[head..new.len() - tail]);
    let mut out: Vec<(Change, &str)> = old[..head].iter().map(|l| (Change::Same, *l)).collect();
    out.extend(middle(a, b));
    out.extend(old[old.len() - tail..].iter().map(|l| (Change::Same, *l)));
    Some(out)
}

/// The diff of two runs of lines by their LCS table (lengths of the common subsequences of
/// the suffixes), walked from the start.
fn middle<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<(Change, &'a str)> {
    let width = b.len() + 1;
    let mut table = vec![0_u32; (a.len() + 1) * width];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            table[i * width + j] = if a[i] == b[j] {
                table[(i + 1) * width + j + 1] + 1
            } else {
                table[(i + 1) * width + j].max(table[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len() + b.len());
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            out.push((Change::Same, a[i]));
            i += 1;
            j += 1;
        } else if table[(i + 1) * width + j] >= table[i * width + j + 1] {
            out.push((Change::Removed, a[i]));
            i += 1;
        } else {
            out.push((Change::Added, b[j]));
            j += 1;
        }
    }
    out.extend(a[i..].iter().map(|l| (Change::Removed, *l)));
    out.extend(b[j..].iter().map(|l| (Change::Added, *l)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_lines_are_marked_between_the_shared_ones() {
        let diff = line_diff("a\nb\nc\nd", "a\nx\nc\nd\ne").unwrap();
        assert_eq!(
            diff,
            vec![
                (Change::Same, "a"),
                (Change::Removed, "b"),
                (Change::Added, "x"),
                (Change::Same, "c"),
                (Change::Same, "d"),
                (Change::Added, "e"),
            ]
        );
    }

    #[test]
    fn identical_texts_have_no_changes() {
        let diff = line_diff("{\n}", "{\n}").unwrap();
        assert!(diff.iter().all(|(c, _)| *c == Change::Same));
        assert_eq!(diff.len(), 2);
    }

    #[test]
    fn texts_beyond_the_bound_are_not_compared() {
        let long = "x\n".repeat(MAX_LINES + 1);
        assert_eq!(line_diff(&long, "x"), None);
    }
}
