-- luacheck configuration: `make test` fails on any warning (spec/run.sh).
std = "luajit"
max_line_length = 120
codes = true
-- Plugin contracts fix the argument lists; not every function uses them all.
unused_args = false
-- Specs quote recorded wire bodies byte for byte: long lines are data.
files["spec"] = { std = "+busted", max_line_length = false }
files["spec/busted.lua"] = { std = "luajit" }
-- Fixtures hold templates and sample plugins as data, not code to lint.
exclude_files = { "spec/fixtures/**", "build/**" }
