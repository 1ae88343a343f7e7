-- The table every benchmark script prints: metric | measured | target |
-- ok/MISS. Numbers, never asserts.
--   local report = dofile("spec/bench/report.lua")("metric")
--   report.row("calls/s", 12345, "/s", 10000, "higher")
--   report.info("reference figure", 42, "ms")
--   report.print()
return function(title)
  local rows = {}
  local report = {}

  --- A measured figure against its target; better is "lower" or "higher".
  function report.row(metric, measured, unit, target, better)
    local ok
    if better == "lower" then ok = measured <= target else ok = measured >= target end
    rows[#rows + 1] = { metric, string.format("%.3f %s", measured, unit),
      string.format("%s %g %s", better == "lower" and "<=" or ">=", target, unit), ok and "ok" or "MISS" }
  end

  --- A figure without a target, for comparison.
  function report.info(metric, measured, unit)
    rows[#rows + 1] = { metric, string.format("%.3f %s", measured, unit), "(reference)", "" }
  end

  function report.print()
    local header = { title or "metric", "measured", "target", "" }
    local widths = {}
    for _, r in ipairs({ header, unpack(rows) }) do
      for i, cell in ipairs(r) do widths[i] = math.max(widths[i] or 0, #cell) end
    end
    local function line(r)
      local cells = {}
      for i, cell in ipairs(r) do cells[i] = cell .. string.rep(" ", widths[i] - #cell) end
      print(table.concat(cells, " | "))
    end
    line(header)
    local sep = {}
    for i, w in ipairs(widths) do sep[i] = string.rep("-", w) end
    print(table.concat(sep, "-|-"))
    for _, r in ipairs(rows) do line(r) end
  end

  return report
end
