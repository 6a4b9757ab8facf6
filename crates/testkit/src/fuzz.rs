//! Seeded generators for fuzzing the server: SQL statements from a grammar
//! of the shapes that stress a SQL engine (deep nesting, long operator
//! chains, subqueries, casts, huge literals, garbage), and sequences of
//! wire-protocol messages, well-formed and mutated.
//!
//! Both are deterministic for a seed, so a failure names the seed that
//! reproduces it.

use fastrand::Rng;

/// Generates SQL statements over the table `fz (id BIGINT PRIMARY KEY, a
/// INT, b TEXT, c DOUBLE PRECISION)`.
pub struct SqlFuzzer {
    rng: Rng,
    /// Nodes the statement being generated may still add: deep nesting
    /// with several children per level would otherwise grow without bound.
    budget: usize,
}

/// The table the SQL fuzzer's statements read and write.
pub const SQL_FUZZ_TABLE: &str =
    "CREATE TABLE fz (id BIGINT PRIMARY KEY, a INT, b TEXT, c DOUBLE PRECISION)";

impl SqlFuzzer {
    pub fn new(seed: u64) -> SqlFuzzer {
        SqlFuzzer {
            rng: Rng::with_seed(seed),
            budget: 0,
        }
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.rng.usize(..items.len())]
    }

    fn literal(&mut self) -> String {
        match self.rng.u8(..12) {
            0 => "NULL".into(),
            1 => self.rng.i64(..).to_string(),
            2 => "99999999999999999999999999999999999999".into(),
            3 => format!("{}e{}", self.rng.i32(-9..9), self.rng.i32(-400..400)),
            4 => format!("'{}'", "x".repeat(self.rng.usize(0..5000))),
            5 => "'NaN'::float8".into(),
            6 => "'-infinity'::float8".into(),
            7 => format!("{}.{}", self.rng.i32(..), self.rng.u32(..)),
            8 => "''".into(),
            9 => "'2024-02-30'".into(),
            _ => self.rng.i32(-100..100).to_string(),
        }
    }

    fn column(&mut self) -> String {
        self.pick(&["id", "a", "b", "c", "fz.a", "x"]).to_string()
    }

    /// An expression at most about `depth` levels deep.
    pub fn expr(&mut self, depth: usize) -> String {
        if depth == 0 || self.budget == 0 || self.rng.u8(..10) < 2 {
            return if self.rng.bool() {
                self.literal()
            } else {
                self.column()
            };
        }
        let d = depth - 1;
        self.budget -= 1;
        // Past half the budget, only constructs with one child: deep, not
        // wide.
        if self.budget < 200 {
            return match self.rng.u8(..6) {
                0 => format!("(NOT {})", self.expr(d)),
                1 => format!("(-{})", self.expr(d)),
                2 => format!("abs({})", self.expr(d)),
                3 => format!("({} + 1)", self.expr(d)),
                4 => format!("CAST({} AS text)", self.expr(d)),
                _ => format!("({})", self.expr(d)),
            };
        }
        match self.rng.u8(..22) {
            0..=3 => {
                let op = self.pick(&[
                    "+",
                    "-",
                    "*",
                    "/",
                    "%",
                    "||",
                    "=",
                    "<>",
                    "<",
                    ">=",
                    "AND",
                    "OR",
                    "IS DISTINCT FROM",
                    "LIKE",
                    "^",
                ]);
                format!("({} {op} {})", self.expr(d), self.expr(d))
            }
            4 => format!("(NOT {})", self.expr(d)),
            5 => format!("(-{})", self.expr(d)),
            6 => {
                let ty = self.pick(&[
                    "int",
                    "bigint",
                    "smallint",
                    "text",
                    "float8",
                    "numeric(10,2)",
                    "boolean",
                    "date",
                    "varchar(3)",
                    "bytea",
                    "timestamp",
                    "interval",
                ]);
                format!("CAST({} AS {ty})", self.expr(d))
            }
            7 => {
                let f = self.pick(&[
                    "abs", "upper", "lower", "length", "coalesce", "nullif", "round", "sqrt",
                    "greatest", "least", "substr", "md5", "concat", "trim", "ln", "exp", "power",
                ]);
                let n = self.rng.usize(1..4);
                let args: Vec<String> = (0..n).map(|_| self.expr(d)).collect();
                format!("{f}({})", args.join(", "))
            }
            8 => format!(
                "CASE WHEN {} THEN {} WHEN {} THEN {} ELSE {} END",
                self.expr(d),
                self.expr(d),
                self.expr(d),
                self.expr(d),
                self.expr(d)
            ),
            9 => format!(
                "(SELECT {} FROM fz WHERE {} LIMIT 1)",
                self.expr(d),
                self.expr(d)
            ),
            10 => format!("EXISTS (SELECT 1 FROM fz WHERE {})", self.expr(d)),
            11 => format!(
                "{} IN ({}, {}, {})",
                self.expr(d),
                self.literal(),
                self.expr(d),
                self.literal()
            ),
            12 => format!(
                "{} IN (SELECT a FROM fz WHERE {})",
                self.expr(d),
                self.expr(d)
            ),
            13 => format!(
                "{} BETWEEN {} AND {}",
                self.expr(d),
                self.expr(d),
                self.expr(d)
            ),
            14 => format!("({}) IS NULL", self.expr(d)),
            15 => format!("{}::text", self.expr(d)),
            16 => {
                // A long operator chain.
                let n = self.rng.usize(2..400).min(self.budget.max(2));
                self.budget = self.budget.saturating_sub(n);
                let op = self.pick(&["+", "AND", "OR", "||", "*"]);
                (0..n)
                    .map(|_| self.expr(d.min(1)))
                    .collect::<Vec<_>>()
                    .join(&format!(" {op} "))
            }
            17 => format!("count({})", self.expr(d)),
            18 => format!("sum({})", self.expr(d)),
            19 => format!("ARRAY[{}, {}]", self.expr(d), self.expr(d)),
            _ => format!("({})", self.expr(d)),
        }
    }

    /// A statement. Mostly queries, some writes, a few deliberately broken.
    pub fn statement(&mut self) -> String {
        self.budget = 400;
        let depth = match self.rng.u8(..20) {
            0 => self.rng.usize(30..120),
            1 => {
                // Far past the depth limit: must be refused, not crash.
                let n = self.rng.usize(1_000..4_000);
                let open = self.pick(&["(", "abs(", "(SELECT ", "-(", "NOT ("]);
                return format!("SELECT {}1{}", open.repeat(n), ")".repeat(n));
            }
            _ => self.rng.usize(1..7),
        };
        match self.rng.u8(..16) {
            0..=6 => {
                let mut s = format!("SELECT {}, {}", self.expr(depth), self.expr(depth));
                if self.rng.bool() {
                    s += &format!(" FROM fz WHERE {}", self.expr(depth));
                    if self.rng.bool() {
                        s += &format!(" GROUP BY {}", self.column());
                    }
                    if self.rng.bool() {
                        s += " ORDER BY 1";
                    }
                }
                if self.rng.bool() {
                    s += &format!(" LIMIT {}", self.rng.i64(-2..100));
                }
                s
            }
            7 => format!(
                "INSERT INTO fz VALUES ({}, {}, {}, {})",
                self.rng.i64(0..1000),
                self.expr(depth.min(3)),
                self.expr(depth.min(3)),
                self.expr(depth.min(3))
            ),
            8 => format!(
                "UPDATE fz SET a = {} WHERE {}",
                self.expr(depth.min(3)),
                self.expr(depth)
            ),
            9 => format!("DELETE FROM fz WHERE {}", self.expr(depth)),
            10 => format!(
                "SELECT count(*) FROM fz f1 JOIN fz f2 ON {} WHERE {}",
                self.expr(depth.min(3)),
                self.expr(depth.min(3))
            ),
            11 => format!(
                "SELECT {} UNION ALL SELECT {}",
                self.expr(depth),
                self.expr(depth)
            ),
            12 => {
                // Garbage: a valid statement cut or with random bytes.
                let mut s = format!("SELECT {} FROM fz", self.expr(depth));
                let cut = self.rng.usize(..s.len().max(1));
                s.truncate(cut);
                while !s.is_char_boundary(s.len()) {
                    s.pop();
                }
                s.push_str(self.pick(&["", "(", ")", "'", "\"", "$$", "::", ",", "/*", "--"]));
                s
            }
            13 => format!(
                "WITH w AS (SELECT {} AS v FROM fz) SELECT v FROM w WHERE {}",
                self.expr(depth),
                self.expr(depth)
            ),
            14 => format!(
                "SELECT {} FROM generate_series(1, {}) AS g(x)",
                self.expr(depth.min(3)).replace("fz.a", "x"),
                self.rng.i64(-5..3000)
            ),
            _ => format!("EXPLAIN SELECT {} FROM fz", self.expr(depth)),
        }
    }
}

/// Generates frontend message sequences for an established connection.
pub struct WireFuzzer {
    rng: Rng,
}

const KINDS: &[u8] = b"QPBDECHSdcfFpXZ\0\xff";

impl WireFuzzer {
    pub fn new(seed: u64) -> WireFuzzer {
        WireFuzzer {
            rng: Rng::with_seed(seed),
        }
    }

    fn cstring(&mut self, out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }

    /// A well-formed message of a random kind.
    fn valid(&mut self) -> (u8, Vec<u8>) {
        let mut body = Vec::new();
        match self.rng.u8(..8) {
            0 => {
                self.cstring(&mut body, "SELECT 1");
                (b'Q', body)
            }
            1 => {
                self.cstring(&mut body, "");
                self.cstring(&mut body, "SELECT $1::int");
                body.extend_from_slice(&1i16.to_be_bytes());
                body.extend_from_slice(&23u32.to_be_bytes());
                (b'P', body)
            }
            2 => {
                self.cstring(&mut body, "");
                self.cstring(&mut body, "");
                body.extend_from_slice(&0i16.to_be_bytes());
                body.extend_from_slice(&1i16.to_be_bytes());
                body.extend_from_slice(&1i32.to_be_bytes());
                body.push(b'7');
                body.extend_from_slice(&0i16.to_be_bytes());
                (b'B', body)
            }
            3 => {
                body.push(if self.rng.bool() { b'S' } else { b'P' });
                self.cstring(&mut body, "");
                (b'D', body)
            }
            4 => {
                self.cstring(&mut body, "");
                body.extend_from_slice(&self.rng.i32(-1..3).to_be_bytes());
                (b'E', body)
            }
            5 => (b'H', body),
            6 => {
                body.push(if self.rng.bool() { b'S' } else { b'P' });
                self.cstring(&mut body, "nope");
                (b'C', body)
            }
            _ => (b'S', body),
        }
    }

    /// The bytes of one message: well-formed, or mutated (a flipped byte,
    /// a cut or extended body, a wrong type or length).
    pub fn message(&mut self) -> Vec<u8> {
        let (mut kind, mut body) = self.valid();
        match self.rng.u8(..10) {
            0..=3 => {}
            4 if !body.is_empty() => {
                let i = self.rng.usize(..body.len());
                body[i] = self.rng.u8(..);
            }
            5 => body.truncate(self.rng.usize(..=body.len())),
            6 => {
                let extra = self.rng.usize(1..16);
                body.extend((0..extra).map(|_| self.rng.u8(..)));
            }
            7 => kind = KINDS[self.rng.usize(..KINDS.len())],
            8 => {
                // A length that disagrees with the body, small enough that
                // the stream's end comes before the server waits long.
                let mut m = vec![kind];
                let len = self.rng.u32(0..64);
                m.extend_from_slice(&len.to_be_bytes());
                m.extend_from_slice(&body);
                return m;
            }
            _ => {
                let n = self.rng.usize(0..32);
                return (0..n).map(|_| self.rng.u8(..)).collect();
            }
        }
        crate::wire::message(kind, &body)
    }

    /// A few messages, as one write.
    pub fn sequence(&mut self) -> Vec<u8> {
        let n = self.rng.usize(1..8);
        (0..n).flat_map(|_| self.message()).collect()
    }

    /// A start-up packet, well-formed or not.
    pub fn startup(&mut self) -> Vec<u8> {
        let mut packet = crate::wire::startup("prism", "prism");
        match self.rng.u8(..6) {
            0 => {
                let i = self.rng.usize(..packet.len());
                packet[i] = self.rng.u8(..);
            }
            1 => packet.truncate(self.rng.usize(..packet.len())),
            2 => packet = vec![0, 0, 0, 8, 4, 210, 22, 47],
            3 => {
                packet = (0..self.rng.usize(0..24))
                    .map(|_| self.rng.u8(..))
                    .collect();
            }
            _ => {}
        }
        packet
    }
}
