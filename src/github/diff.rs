//! The lines of a pull request a review comment may point at.
//!
//! GitHub accepts an inline comment only on a line that is part of the diff:
//! an added or context line of a hunk, on the right side for the new file.
//! One comment outside the diff makes GitHub reject the whole review (422),
//! so every comment is checked against the hunks of the file's `patch` first.

/// The right-side (new file) lines of one hunk: `start..=end`. Removed lines
/// take no right-side number, so added and context lines of a hunk are one
/// contiguous range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HunkLines {
    pub start: u32,
    pub end: u32,
}

/// The commentable lines of one file of a pull request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileDiff {
    pub hunks: Vec<HunkLines>,
}

impl FileDiff {
    /// Parses a unified-diff `patch` as GitHub gives it for one file (hunk
    /// headers and lines, no file header). `None` (a binary or too large
    /// file) has no commentable line.
    pub fn from_patch(patch: Option<&str>) -> FileDiff {
        let Some(patch) = patch else {
            return FileDiff::default();
        };
        let mut hunks = Vec::new();
        for line in patch.lines() {
            if let Some(h) = parse_hunk_header(line) {
                hunks.push(h);
            }
        }
        FileDiff { hunks }
    }

    /// The hunk holding right-side `line`.
    pub fn hunk_of(&self, line: u32) -> Option<usize> {
        self.hunks
            .iter()
            .position(|h| h.start <= line && line <= h.end)
    }

    pub fn contains(&self, line: u32) -> bool {
        self.hunk_of(line).is_some()
    }

    /// Whether `start..=end` lies inside one hunk (a multi-line comment must).
    pub fn same_hunk(&self, start: u32, end: u32) -> bool {
        matches!((self.hunk_of(start), self.hunk_of(end)), (Some(a), Some(b)) if a == b)
    }
}

/// `@@ -a,b +c,d @@ …` → the right-side lines `c..=c+d-1` (`d` defaults to 1;
/// `d == 0`, a hunk that only removes lines, yields an empty range).
fn parse_hunk_header(line: &str) -> Option<HunkLines> {
    let rest = line.strip_prefix("@@ ")?;
    let end = rest.find(" @@")?;
    let ranges = &rest[..end];
    let new = ranges.split(' ').find_map(|r| r.strip_prefix('+'))?;
    let (start, count) = match new.split_once(',') {
        Some((s, c)) => (s.parse::<u32>().ok()?, c.parse::<u32>().ok()?),
        None => (new.parse::<u32>().ok()?, 1),
    };
    if count == 0 {
        // Only removals: no right-side line to comment on. An impossible
        // range keeps the hunk's index stable without matching any line.
        return Some(HunkLines { start: 1, end: 0 });
    }
    Some(HunkLines {
        start,
        end: start + count - 1,
    })
}

/// The URL of the next page in a `Link` header, if any.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let mut pieces = part.split(';');
        let url = pieces.next()?.trim();
        let is_next = pieces.any(|p| {
            let p = p.trim();
            p == "rel=\"next\"" || p == "rel=next"
        });
        (is_next && url.starts_with('<') && url.ends_with('>'))
            .then(|| url[1..url.len() - 1].to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_give_right_side_ranges() {
        let patch = "@@ -1,3 +1,4 @@\n a\n-b\n+c\n+d\n e\n@@ -20 +21,2 @@ fn x\n-y\n+z\n+w\n@@ -40,2 +42,0 @@\n-q\n-r";
        let d = FileDiff::from_patch(Some(patch));
        assert!(d.contains(1) && d.contains(4));
        assert!(!d.contains(5) && !d.contains(20));
        assert!(d.contains(21) && d.contains(22) && !d.contains(23));
        assert!(!d.contains(42));
        assert!(d.same_hunk(2, 4));
        assert!(!d.same_hunk(4, 21));
        assert_eq!(FileDiff::from_patch(None).hunks.len(), 0);
        assert!(FileDiff::from_patch(Some("@@ -0,0 +1 @@\n+x")).contains(1));
    }

    #[test]
    fn next_link_is_found() {
        let link = "<https://api.github.com/x?page=2>; rel=\"next\", <https://api.github.com/x?page=5>; rel=\"last\"";
        assert_eq!(
            next_link(link).as_deref(),
            Some("https://api.github.com/x?page=2")
        );
        assert_eq!(next_link("<https://a/x?page=1>; rel=\"prev\""), None);
    }
}
