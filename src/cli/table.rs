// SPDX-License-Identifier: LGPL-2.1-or-later
//! Plain-text tables with aligned columns.

use std::fmt;

/// A table: a header row, then rows of a label and one cell per column.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(label: &str, columns: impl IntoIterator<Item = String>) -> Table {
        let mut header = vec![label.to_string()];
        header.extend(columns);
        Table {
            header,
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, label: String, cells: Vec<String>) {
        let mut r = vec![label];
        r.extend(cells);
        self.rows.push(r);
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.header.len();
        let mut w = vec![0; n];
        for r in std::iter::once(&self.header).chain(&self.rows) {
            for (i, c) in r.iter().enumerate().take(n) {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, r: &[String]| -> fmt::Result {
            let mut s = String::new();
            for (i, c) in r.iter().enumerate().take(n) {
                let pad = w[i] - c.chars().count();
                if i == 0 {
                    s.push_str(c);
                    s.push_str(&" ".repeat(pad));
                } else {
                    s.push_str("  ");
                    s.push_str(&" ".repeat(pad));
                    s.push_str(c);
                }
            }
            writeln!(f, "{}", s.trim_end())
        };
        line(f, &self.header)?;
        let total: usize = w.iter().sum::<usize>() + 2 * (n - 1);
        writeln!(f, "{}", "-".repeat(total))?;
        for r in &self.rows {
            line(f, r)?;
        }
        Ok(())
    }
}
