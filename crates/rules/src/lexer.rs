//! Tokens of the text form. Positions are 1-based lines and columns counted in characters.

use crate::parser::ParseError;

/// A token kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A word: `[A-Za-z_][A-Za-z0-9_]*`. Keywords are words compared ignoring ASCII case.
    Ident,
    /// A string literal; the payload is the unescaped content.
    Str(String),
    /// A number (`-?digits[.digits][e[+-]digits]`) and the letters or `%` glued to it, if any
    /// (`30d`, `10km`, `5%`). The number's text is kept verbatim so each use parses it exactly.
    Num { num: String, unit: String },
    /// `(` `)` `,` `..` `=` `!=` `>` `>=` `<` `<=`
    Punct(&'static str),
    /// End of input.
    Eof,
}

/// A token with its source text and position.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    /// The source text of the token (empty at end of input).
    pub text: String,
    pub line: usize,
    pub col: usize,
}

impl Token {
    /// True for an identifier equal to `kw` ignoring ASCII case.
    pub fn is_kw(&self, kw: &str) -> bool {
        self.tok == Tok::Ident && self.text.eq_ignore_ascii_case(kw)
    }

    /// The lower-cased word, for identifiers.
    pub fn word(&self) -> Option<String> {
        (self.tok == Tok::Ident).then(|| self.text.to_ascii_lowercase())
    }
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    col: usize,
}

fn err(line: usize, col: usize, expected: &[&str], found: &str, message: String) -> ParseError {
    ParseError {
        line,
        column: col,
        expected: expected.iter().map(|s| s.to_string()).collect(),
        found: found.to_string(),
        message,
    }
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn text_from(&self, start: usize) -> String {
        self.chars[start..self.pos].iter().collect()
    }

    fn digits(&mut self) {
        while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
    }

    fn string(&mut self, line: usize, col: usize, start: usize) -> Result<Tok, ParseError> {
        self.bump(); // opening quote
        let mut out = String::new();
        loop {
            let (l, c) = (self.line, self.col);
            match self.bump() {
                None => {
                    return Err(err(
                        line,
                        col,
                        &["a closing \""],
                        "",
                        "unterminated string: expected a closing \", found end of input"
                            .to_string(),
                    ));
                }
                Some('"') => return Ok(Tok::Str(out)),
                Some('\\') => match self.bump() {
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('t') => out.push('\t'),
                    Some('u') if self.peek(0) == Some('{') => {
                        self.bump();
                        let hex_start = self.pos;
                        while self.peek(0).is_some_and(|c| c.is_ascii_hexdigit()) {
                            self.bump();
                        }
                        let hex = self.text_from(hex_start);
                        let ch = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                        match (ch, self.bump()) {
                            (Some(ch), Some('}')) if !hex.is_empty() && hex.len() <= 6 => {
                                out.push(ch)
                            }
                            _ => {
                                let found = self.text_from(start);
                                return Err(err(
                                    l,
                                    c,
                                    &["a unicode escape like \\u{e9}"],
                                    &found,
                                    "invalid unicode escape: expected a unicode escape like \\u{e9}"
                                        .to_string(),
                                ));
                            }
                        }
                    }
                    other => {
                        let found = other.map(|ch| format!("\\{ch}")).unwrap_or_default();
                        return Err(err(
                            l,
                            c,
                            &["\\\"", "\\\\", "\\n", "\\r", "\\t", "\\u{…}"],
                            &found,
                            format!(
                                "unknown escape: expected \\\", \\\\, \\n, \\r, \\t or \\u{{…}}, found \"{found}\""
                            ),
                        ));
                    }
                },
                Some(ch) => out.push(ch),
            }
        }
    }

    fn number(&mut self) -> Tok {
        let start = self.pos;
        if self.peek(0) == Some('-') {
            self.bump();
        }
        self.digits();
        // A fraction needs a digit after the dot, so `1..5` stays a range.
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
            self.digits();
        }
        if matches!(self.peek(0), Some('e' | 'E')) {
            let sign = usize::from(matches!(self.peek(1), Some('+' | '-')));
            if self.peek(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                for _ in 0..=sign {
                    self.bump();
                }
                self.digits();
            }
        }
        let num = self.text_from(start);
        let unit_start = self.pos;
        if self.peek(0) == Some('%') {
            self.bump();
        } else {
            while self.peek(0).is_some_and(|c| c.is_ascii_alphabetic()) {
                self.bump();
            }
        }
        let unit = self.text_from(unit_start);
        Tok::Num { num, unit }
    }

    fn next(&mut self) -> Result<Option<Token>, ParseError> {
        while self.peek(0).is_some_and(char::is_whitespace) {
            self.bump();
        }
        let (line, col, start) = (self.line, self.col, self.pos);
        let Some(c) = self.peek(0) else {
            return Ok(None);
        };
        let tok = match c {
            '"' => self.string(line, col, start)?,
            '0'..='9' => self.number(),
            '-' if self.peek(1).is_some_and(|c| c.is_ascii_digit()) => self.number(),
            c if c.is_ascii_alphabetic() || c == '_' => {
                while self
                    .peek(0)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    self.bump();
                }
                Tok::Ident
            }
            _ => {
                let two: String = self.chars[self.pos..(self.pos + 2).min(self.chars.len())]
                    .iter()
                    .collect();
                let punct = match two.as_str() {
                    ".." => Some(".."),
                    "!=" => Some("!="),
                    ">=" => Some(">="),
                    "<=" => Some("<="),
                    _ => None,
                };
                if let Some(p) = punct {
                    self.bump();
                    self.bump();
                    Tok::Punct(p)
                } else {
                    let p = match c {
                        '(' => "(",
                        ')' => ")",
                        ',' => ",",
                        '=' => "=",
                        '>' => ">",
                        '<' => "<",
                        _ => {
                            return Err(err(
                                line,
                                col,
                                &[],
                                &c.to_string(),
                                format!("unexpected character \"{c}\""),
                            ));
                        }
                    };
                    self.bump();
                    Tok::Punct(p)
                }
            }
        };
        Ok(Some(Token {
            tok,
            text: self.text_from(start),
            line,
            col,
        }))
    }
}

/// Splits `src` into tokens, ending with [`Tok::Eof`].
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut lx = Lexer {
        chars: src.chars().collect(),
        pos: 0,
        line: 1,
        col: 1,
    };
    let mut out = Vec::new();
    while let Some(t) = lx.next()? {
        out.push(t);
    }
    out.push(Token {
        tok: Tok::Eof,
        text: String::new(),
        line: lx.line,
        col: lx.col,
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        lex(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers_units_and_ranges() {
        assert_eq!(
            kinds("0..14d"),
            vec![
                Tok::Num {
                    num: "0".into(),
                    unit: "".into()
                },
                Tok::Punct(".."),
                Tok::Num {
                    num: "14".into(),
                    unit: "d".into()
                },
                Tok::Eof
            ]
        );
        assert_eq!(
            kinds("-0.1278 10km 5% 1e20"),
            vec![
                Tok::Num {
                    num: "-0.1278".into(),
                    unit: "".into()
                },
                Tok::Num {
                    num: "10".into(),
                    unit: "km".into()
                },
                Tok::Num {
                    num: "5".into(),
                    unit: "%".into()
                },
                Tok::Num {
                    num: "1e20".into(),
                    unit: "".into()
                },
                Tok::Eof
            ]
        );
    }

    #[test]
    fn strings_unescape_and_positions_count_chars() {
        let toks = lex("y \"a\\\"b\\u{e9}\"\n  x").unwrap();
        assert_eq!(toks[1].tok, Tok::Str("a\"bé".into()));
        assert_eq!((toks[1].line, toks[1].col), (1, 3));
        assert_eq!((toks[2].line, toks[2].col), (2, 3));
    }
}
