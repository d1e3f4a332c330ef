//! What one query may cost, checked before the work: its size and nesting (refused before it
//! is evaluated, and the parser kept away from inputs that would recurse deeply), the samples
//! and points it holds in memory at once (Prometheus' `query.max-samples`), and its run time.
//!
//! Every evaluation — an API query or a rule's — runs against one [`Budget`]. Memory is
//! counted in samples (a timestamp and a value, 16 bytes): each sample read from storage, each
//! point an expression produces (one per series and step, counted as each series is made),
//! each step of a subquery, and each rollup bucket (counted by its size in samples). What an
//! expression's operands held is given back once its value is made. A query is refused as
//! soon as what it holds would pass the limit, and before the allocations whose size is
//! known up front (a subquery's steps, a rollup read, a series' points), so a request cannot
//! make the process allocate much more than its budget: at most a few times it, while an
//! expression's operands and its value are both held.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use promql_parser::parser::{self, Expr};

use super::QueryError;

/// Longest query text accepted (VictoriaMetrics stops at 16 KiB; Grafana's generated queries
/// with long regex alternatives stay well under this).
pub const MAX_QUERY_BYTES: usize = 64 * 1024;

/// Farthest a query's time may be from 1970, either way (about year 2286): every sum of a
/// time, a range, an offset and a lookback then stays far inside an i64 of milliseconds.
pub const MAX_TIME_MS: i64 = 10_000_000_000_000;

/// Longest range, offset or subquery step a query may name: 100 years.
pub const MAX_DURATION_MS: i64 = 100 * 365 * 86_400_000;

/// Operators and brackets a query may have per allowed level of nesting before it is parsed.
/// The parser's time grows with the square of a chain of operators (it re-checks the types
/// below each one), so a long chain is refused before it reaches the parser.
const TOKENS_PER_LEVEL: usize = 4;

/// Limits on one query, from `--query-max-samples`, `--query-timeout` and `--query-max-depth`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryLimits {
    /// Most samples (and points) held in memory at once.
    pub max_samples: usize,
    /// Longest a query may run, fetching included.
    pub timeout: Duration,
    /// Deepest expression tree (`a + b + c` is 3 levels deep: two additions and a selector).
    pub max_depth: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            max_samples: 20_000_000,
            timeout: Duration::from_secs(120),
            max_depth: 256,
        }
    }
}

/// The running account of one evaluation against its limits.
#[derive(Debug)]
pub struct Budget {
    max_samples: usize,
    timeout: Duration,
    deadline: Instant,
    in_use: AtomicUsize,
    /// Set when whoever asked stopped waiting (the request went away): the work stops.
    cancelled: AtomicBool,
}

impl Budget {
    /// A budget whose clock starts now.
    pub fn new(limits: &QueryLimits) -> Self {
        Budget {
            max_samples: limits.max_samples,
            timeout: limits.timeout,
            deadline: Instant::now() + limits.timeout,
            in_use: AtomicUsize::new(0),
            cancelled: AtomicBool::new(false),
        }
    }

    /// Samples held now.
    pub fn in_use(&self) -> usize {
        self.in_use.load(Ordering::Relaxed)
    }

    /// Samples that may still be taken.
    pub fn remaining(&self) -> usize {
        self.max_samples.saturating_sub(self.in_use())
    }

    /// Takes `samples` more, or refuses when that passes the limit.
    pub fn charge(&self, samples: usize) -> Result<(), QueryError> {
        let now = self
            .in_use
            .fetch_add(samples, Ordering::Relaxed)
            .saturating_add(samples);
        if now > self.max_samples {
            return Err(self.too_many());
        }
        Ok(())
    }

    /// Refuses unless `samples` more would fit; takes nothing.
    pub fn ensure_room(&self, samples: usize) -> Result<(), QueryError> {
        if samples > self.remaining() {
            return Err(self.too_many());
        }
        Ok(())
    }

    /// Gives back everything taken since `mark` was read (the values an expression consumed).
    pub fn release_to(&self, mark: usize) {
        self.in_use.store(mark, Ordering::Relaxed);
    }

    pub fn too_many(&self) -> QueryError {
        QueryError::execution(format!(
            "query processing would load too many samples into memory in query execution \
             (more than {}; the limit is set by --query-max-samples)",
            self.max_samples
        ))
    }

    /// Whether the query has run out of time (or nobody waits for it any more).
    pub fn expired(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }

    /// Stops the work at its next check.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Refuses once the query has run out of time.
    pub fn check_time(&self) -> Result<(), QueryError> {
        if self.expired() {
            return Err(QueryError::timeout(self.timeout));
        }
        Ok(())
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

/// Parses `query` within the limits: its length and a cheap count of operators and brackets
/// first (so the parser never sees input that would take it long or deep), then the depth of
/// the parsed tree. Errors are worded as Prometheus' API words them.
pub fn parse(query: &str, limits: &QueryLimits) -> Result<Expr, QueryError> {
    if query.trim().is_empty() {
        return Err(QueryError::bad_data(
            "invalid parameter \"query\": empty query",
        ));
    }
    parse_within(query, limits).map_err(|problem| {
        QueryError::bad_data(format!(
            "invalid parameter \"query\": {}",
            problem.message()
        ))
    })
}

/// Why a query was not parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseProblem {
    /// Not PromQL; the parser's message.
    Syntax(String),
    /// PromQL, but over a limit.
    TooLarge(String),
}

impl ParseProblem {
    pub fn message(&self) -> &str {
        match self {
            ParseProblem::Syntax(message) | ParseProblem::TooLarge(message) => message,
        }
    }
}

/// [`parse`], with the problem unworded (rule validation words it for its field).
pub fn parse_within(query: &str, limits: &QueryLimits) -> Result<Expr, ParseProblem> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(ParseProblem::TooLarge(format!(
            "the query is {} bytes long; at most {MAX_QUERY_BYTES} are accepted",
            query.len()
        )));
    }
    let shape = Shape::of(query);
    let allowed = limits.max_depth.saturating_mul(TOKENS_PER_LEVEL);
    if shape.nesting > limits.max_depth || shape.operators + shape.nesting > allowed {
        return Err(ParseProblem::TooLarge(format!(
            "the query has {} operators and brackets nested {} deep, more than its depth limit \
             allows (at most {} levels; set by --query-max-depth)",
            shape.operators, shape.nesting, limits.max_depth
        )));
    }
    let expr = parser::parse(query).map_err(ParseProblem::Syntax)?;
    let depth = inspect(&expr)?;
    if depth > limits.max_depth {
        return Err(ParseProblem::TooLarge(format!(
            "the expression is {depth} levels deep; at most {} are allowed (set by \
             --query-max-depth)",
            limits.max_depth
        )));
    }
    Ok(expr)
}

/// Operators and the deepest bracket nesting of a query, read without parsing it. Strings,
/// comments and label matchers (`{…}`) are skipped. Every binary or unary operator adds at
/// most one level to the parsed tree, and so does every bracket level, so the two together
/// bound its depth.
#[derive(Debug, Default, PartialEq, Eq)]
struct Shape {
    operators: usize,
    nesting: usize,
}

impl Shape {
    fn of(query: &str) -> Shape {
        let bytes = query.as_bytes();
        let mut shape = Shape::default();
        let (mut depth, mut braces) = (0usize, 0usize);
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            match c {
                b'"' | b'\'' | b'`' => {
                    i += 1;
                    while i < bytes.len() && bytes[i] != c {
                        if bytes[i] == b'\\' && c != b'`' {
                            i += 1;
                        }
                        i += 1;
                    }
                }
                b'#' => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                b'{' => braces += 1,
                b'}' => braces = braces.saturating_sub(1),
                _ if braces > 0 => {}
                b'(' | b'[' => {
                    depth += 1;
                    shape.nesting = shape.nesting.max(depth);
                }
                b')' | b']' => depth = depth.saturating_sub(1),
                b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'<' | b'>' => shape.operators += 1,
                b'=' | b'!' if bytes.get(i + 1) == Some(&b'=') => {
                    shape.operators += 1;
                    i += 1;
                }
                _ if c.is_ascii_alphabetic() || c == b'_' => {
                    let start = i;
                    while i + 1 < bytes.len()
                        && (bytes[i + 1].is_ascii_alphanumeric()
                            || matches!(bytes[i + 1], b'_' | b':'))
                    {
                        i += 1;
                    }
                    let word = &query[start..=i];
                    if ["and", "or", "unless", "atan2"]
                        .iter()
                        .any(|k| word.eq_ignore_ascii_case(k))
                    {
                        shape.operators += 1;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        shape
    }
}

/// Walks the parsed tree once (iteratively, so no tree can overflow the stack): answers its
/// depth — nodes on the longest path from the root to a leaf — and refuses ranges, offsets
/// and steps over [`MAX_DURATION_MS`] and `@` times beyond [`MAX_TIME_MS`] (the parser takes
/// `999999999y`).
fn inspect(expr: &Expr) -> Result<usize, ParseProblem> {
    let mut deepest = 0;
    let mut pending: Vec<(&Expr, usize)> = vec![(expr, 1)];
    while let Some((node, level)) = pending.pop() {
        deepest = deepest.max(level);
        if !times_fit(node) {
            return Err(ParseProblem::TooLarge(
                "ranges, offsets and steps must be at most 100 years, and `@` times within \
                 year 2286"
                    .to_owned(),
            ));
        }
        pending.extend(children(node).into_iter().map(|child| (child, level + 1)));
    }
    Ok(deepest)
}

/// The operands of one node.
fn children(node: &Expr) -> Vec<&Expr> {
    match node {
        Expr::Aggregate(a) => std::iter::once(a.expr.as_ref())
            .chain(a.param.as_deref())
            .collect(),
        Expr::Unary(u) => vec![&u.expr],
        Expr::Binary(b) => vec![&b.lhs, &b.rhs],
        Expr::Paren(p) => vec![&p.expr],
        Expr::Subquery(s) => vec![&s.expr],
        Expr::Call(call) => call.args.args.iter().map(|arg| arg.as_ref()).collect(),
        Expr::MatrixSelector(_)
        | Expr::VectorSelector(_)
        | Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::Extension(_) => Vec::new(),
    }
}

/// Whether the durations and `@` time of one node (not its children) are within bounds.
fn times_fit(node: &Expr) -> bool {
    use promql_parser::parser::{AtModifier, Offset};
    let fits = |d: &Duration| d.as_millis() <= MAX_DURATION_MS as u128;
    let offset_fits = |offset: &Option<Offset>| match offset {
        Some(Offset::Pos(d) | Offset::Neg(d)) => fits(d),
        None => true,
    };
    let at_fits = |at: &Option<AtModifier>| match at {
        Some(AtModifier::At(time)) => {
            let millis = match time.duration_since(std::time::UNIX_EPOCH) {
                Ok(d) => d.as_millis(),
                Err(e) => e.duration().as_millis(),
            };
            millis <= MAX_TIME_MS as u128
        }
        _ => true,
    };
    match node {
        Expr::VectorSelector(vs) => offset_fits(&vs.offset) && at_fits(&vs.at),
        Expr::MatrixSelector(ms) => {
            fits(&ms.range) && offset_fits(&ms.vs.offset) && at_fits(&ms.vs.at)
        }
        Expr::Subquery(sq) => {
            fits(&sq.range)
                && sq.step.as_ref().is_none_or(fits)
                && offset_fits(&sq.offset)
                && at_fits(&sq.at)
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_depth: usize) -> QueryLimits {
        QueryLimits {
            max_depth,
            ..QueryLimits::default()
        }
    }

    #[test]
    fn the_shape_counts_operators_and_nesting_outside_strings_and_matchers() {
        assert_eq!(
            Shape::of(r#"sum(rate(x{a!="-+", b=~"(((("}[5m])) / 2 or y"#),
            Shape {
                operators: 2,
                nesting: 3
            }
        );
        assert_eq!(
            Shape::of("# a comment (((\n1 + 1"),
            Shape {
                operators: 1,
                nesting: 0
            }
        );
        assert_eq!(Shape::of("a == b != c").operators, 2);
        assert_eq!(Shape::of("orders or ANDROID and x").operators, 2);
    }

    #[test]
    fn durations_and_times_that_would_overflow_are_refused() {
        for query in [
            "rate(x[999999999y])",
            "x offset 999999999y",
            "max_over_time(x[1h:999999999y])",
            "x @ 100000000000000",
        ] {
            let problem = parse_within(query, &limits(256)).unwrap_err();
            assert!(matches!(problem, ParseProblem::TooLarge(_)), "{query}");
        }
        assert!(parse_within("rate(x[5m] offset 1w)", &limits(256)).is_ok());
    }

    #[test]
    fn depth_counts_the_longest_path() {
        let expr = parser::parse("sum(rate(x[5m])) + 1").unwrap();
        assert_eq!(inspect(&expr), Ok(4));
        let expr = parser::parse("1 + 1 + 1 + 1").unwrap();
        assert_eq!(inspect(&expr), Ok(4));
    }

    #[test]
    fn long_chains_and_deep_nesting_are_refused_before_parsing() {
        let chain = format!("1{}", "+1".repeat(5000));
        let error = parse(&chain, &limits(256)).unwrap_err();
        assert!(error.message.contains("--query-max-depth"), "{error}");
        let nested = format!("{}1{}", "(".repeat(300), ")".repeat(300));
        assert!(parse(&nested, &limits(256)).is_err());
        let long = format!("x{{a=\"{}\"}}", "y".repeat(MAX_QUERY_BYTES));
        assert!(
            parse(&long, &limits(256))
                .unwrap_err()
                .message
                .contains("bytes long")
        );
    }

    #[test]
    fn a_tree_deeper_than_the_limit_is_refused_after_parsing() {
        // 300 operators pass the cheap count (4 per level) but make a tree 301 deep.
        let chain = format!("1{}", "+1".repeat(300));
        let error = parse(&chain, &limits(256)).unwrap_err();
        assert!(error.message.contains("301 levels deep"), "{error}");
        assert!(parse(&chain, &limits(400)).is_ok());
    }

    #[test]
    fn the_budget_refuses_past_its_limit_and_gives_back_what_was_consumed() {
        let budget = Budget::new(&QueryLimits {
            max_samples: 100,
            ..QueryLimits::default()
        });
        budget.charge(60).unwrap();
        let mark = budget.in_use();
        budget.charge(30).unwrap();
        assert!(budget.ensure_room(20).is_err());
        budget.release_to(mark);
        budget.ensure_room(40).unwrap();
        assert!(budget.charge(41).is_err());
    }
}
